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

// ListQuery asks for one page of the segments.
type ListQuery struct {
	Text   string // "" for any, else a part of the name or description, in any case
	Sort   string // one of ListSorts; "" is "name"
	Desc   bool
	Limit  int // 0: 50
	Offset int
}

// ListSorts are the keys ListPage can sort by: name, created and updated.
var ListSorts = []string{"name", "created", "updated"}

// listOrders is the ORDER BY of each sort key, ascending and descending: fixed text
// chosen by key, never built from the request.
var listOrders = map[string][2]string{
	"name":    {`lower(name), id`, `lower(name) DESC, id DESC`},
	"created": {`created_at, id`, `created_at DESC, id DESC`},
	"updated": {`updated_at, id`, `updated_at DESC, id DESC`},
}

// ErrUnknownSort is returned by ListPage asked to sort by a key not in ListSorts.
var ErrUnknownSort = errors.New("unknown sort key")

const listPageWhere = ` FROM segments
		WHERE $1 = '' OR name ILIKE '%' || $1 || '%' OR description ILIKE '%' || $1 || '%'`

// ListPage returns one page of the segments q asks for and how many segments its filter
// finds in all. A sort key not in ListSorts is an error wrapping ErrUnknownSort.
func (s *Store) ListPage(ctx context.Context, q ListQuery) ([]Segment, int, error) {
	if q.Sort == "" {
		q.Sort = "name"
	}
	order, ok := listOrders[q.Sort]
	if !ok {
		return nil, 0, fmt.Errorf("list segments by %q: %w", q.Sort, ErrUnknownSort)
	}
	by := order[0]
	if q.Desc {
		by = order[1]
	}
	if q.Limit <= 0 {
		q.Limit = 50
	}
	text := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(strings.TrimSpace(q.Text))
	var total int
	if err := s.db.GetContext(ctx, &total, `SELECT count(*)`+listPageWhere, text); err != nil {
		return nil, 0, fmt.Errorf("count segments: %w", err)
	}
	var rows []segmentRow
	if err := s.db.SelectContext(ctx, &rows, `SELECT `+segmentCols+listPageWhere+` ORDER BY `+by+` LIMIT $2 OFFSET $3`,
		text, q.Limit, max(q.Offset, 0)); err != nil {
		return nil, 0, fmt.Errorf("list segments: %w", err)
	}
	out := make([]Segment, 0, len(rows))
	for _, r := range rows {
		seg, err := r.segment()
		if err != nil {
			return nil, 0, fmt.Errorf("list segments: %w", err)
		}
		out = append(out, *seg)
	}
	return out, total, nil
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
