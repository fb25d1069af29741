package segment

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// ErrNotFound is returned when a segment does not exist.
var ErrNotFound = errors.New("segment not found")

// ErrExists is returned by Create when a segment already has the name.
var ErrExists = errors.New("a segment with that name already exists")

// ErrUnknownTopic is returned by Count when the topic asked about, or one a rule names,
// does not exist.
var ErrUnknownTopic = errors.New("unknown topic")

// Store reads and writes segments and counts their audiences.
type Store struct {
	db *sqlx.DB
}

// NewStore returns a Store over db.
func NewStore(db *sqlx.DB) *Store { return &Store{db: db} }

// Segment is a named, saved rule tree.
type Segment struct {
	ID          int64
	Name        string
	Description string
	Rules       Rule
	CreatedBy   string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

type segmentRow struct {
	ID          int64     `db:"id"`
	Name        string    `db:"name"`
	Description string    `db:"description"`
	Rules       []byte    `db:"rules"`
	CreatedBy   string    `db:"created_by"`
	CreatedAt   time.Time `db:"created_at"`
	UpdatedAt   time.Time `db:"updated_at"`
}

func (r segmentRow) segment() (*Segment, error) {
	rules, err := Parse(r.Rules)
	if err != nil {
		return nil, fmt.Errorf("segment %d (%s) has unreadable rules: %w", r.ID, r.Name, err)
	}
	return &Segment{ID: r.ID, Name: r.Name, Description: r.Description, Rules: rules,
		CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}, nil
}

const segmentCols = `id, name, description, rules, created_by, created_at, updated_at`

// Create validates r and saves it as a new segment. A name already in use gives an
// error wrapping ErrExists; an invalid rule one wrapping ErrInvalid.
func (s *Store) Create(ctx context.Context, name, description string, r Rule, actor string) (*Segment, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return nil, fmt.Errorf("create segment: a name is required: %w", ErrInvalid)
	}
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("create segment %q: %w", name, err)
	}
	rules, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("create segment %q: encode rules: %w", name, err)
	}
	var row segmentRow
	err = s.db.GetContext(ctx, &row, `INSERT INTO segments (name, description, rules, created_by)
		VALUES ($1, $2, $3, $4) RETURNING `+segmentCols, name, strings.TrimSpace(description), rules, actor)
	var pqErr *pq.Error
	if errors.As(err, &pqErr) && pqErr.Code == "23505" {
		return nil, fmt.Errorf("create segment %q: %w", name, ErrExists)
	}
	if err != nil {
		return nil, fmt.Errorf("create segment %q: %w", name, err)
	}
	return row.segment()
}

// List returns every segment, by name.
func (s *Store) List(ctx context.Context) ([]Segment, error) {
	var rows []segmentRow
	if err := s.db.SelectContext(ctx, &rows, `SELECT `+segmentCols+` FROM segments ORDER BY name, id`); err != nil {
		return nil, fmt.Errorf("list segments: %w", err)
	}
	out := make([]Segment, 0, len(rows))
	for _, r := range rows {
		seg, err := r.segment()
		if err != nil {
			return nil, fmt.Errorf("list segments: %w", err)
		}
		out = append(out, *seg)
	}
	return out, nil
}

// Get returns the segment whose id (when idOrName is a number) or else name is
// idOrName; ErrNotFound if there is none.
func (s *Store) Get(ctx context.Context, idOrName string) (*Segment, error) {
	var row segmentRow
	err := sql.ErrNoRows
	if id, perr := strconv.ParseInt(strings.TrimSpace(idOrName), 10, 64); perr == nil {
		err = s.db.GetContext(ctx, &row, `SELECT `+segmentCols+` FROM segments WHERE id = $1`, id)
	}
	if errors.Is(err, sql.ErrNoRows) {
		err = s.db.GetContext(ctx, &row, `SELECT `+segmentCols+` FROM segments WHERE name = $1`, strings.TrimSpace(idOrName))
	}
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("get segment %q: %w", idOrName, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get segment %q: %w", idOrName, err)
	}
	return row.segment()
}
