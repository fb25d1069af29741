package email

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ErrBadToken is returned for a link token that was not made by this installation's key
// (forged, truncated or from another purpose).
var ErrBadToken = errors.New("invalid or tampered link")

// Signer makes and checks the unguessable per-recipient tokens in unsubscribe,
// preference and view-in-browser links: the ids they name plus an HMAC-SHA256 over them
// and the link's purpose, so a token for one purpose or person is useless for another.
type Signer struct{ key []byte }

// NewSigner returns a Signer; key must be at least 32 random bytes, kept secret.
func NewSigner(key []byte) (*Signer, error) {
	if len(key) < 32 {
		return nil, fmt.Errorf("link signing key must be at least 32 bytes, got %d", len(key))
	}
	return &Signer{key: append([]byte(nil), key...)}, nil
}

func (s *Signer) mac(purpose string, ids []int64) []byte {
	h := hmac.New(sha256.New, s.key)
	h.Write([]byte(purpose))
	for _, id := range ids {
		h.Write([]byte{0})
		h.Write([]byte(strconv.FormatInt(id, 10)))
	}
	return h.Sum(nil)[:16] // 128 bits: unguessable, and keeps URLs short
}

// Token returns "id.id.mac" for purpose ("unsubscribe", "preferences", "view").
func (s *Signer) Token(purpose string, ids ...int64) string {
	var b strings.Builder
	for _, id := range ids {
		b.WriteString(strconv.FormatInt(id, 36))
		b.WriteByte('.')
	}
	b.WriteString(base64.RawURLEncoding.EncodeToString(s.mac(purpose, ids)))
	return b.String()
}

// Verify checks a token for purpose and returns the ids it carries; ErrBadToken if it
// was not made by Token with this key and purpose and exactly n ids.
func (s *Signer) Verify(purpose, token string, n int) ([]int64, error) {
	parts := strings.Split(token, ".")
	if len(parts) != n+1 {
		return nil, ErrBadToken
	}
	ids := make([]int64, n)
	for i := range n {
		id, err := strconv.ParseInt(parts[i], 36, 64)
		if err != nil || id <= 0 {
			return nil, ErrBadToken
		}
		ids[i] = id
	}
	got, err := base64.RawURLEncoding.DecodeString(parts[n])
	if err != nil || !hmac.Equal(got, s.mac(purpose, ids)) {
		return nil, ErrBadToken
	}
	return ids, nil
}

// The preference centre's link shows and changes a resident's choices, and e-bulletins
// get forwarded, so its token also carries the day it was issued: the web refuses an
// old one (CRIER_PREFERENCES_LINK_DAYS) and offers to email a fresh link instead.

const secondsPerDay = 24 * 60 * 60

// PreferencesToken returns the token of contactID's preference-centre link, issued at
// issued (kept to the day: "id.day.mac").
func (s *Signer) PreferencesToken(contactID int64, issued time.Time) string {
	return s.Token("preferences", contactID, issued.Unix()/secondsPerDay)
}

// VerifyPreferences returns the contact a preference-centre token names and the day
// (UTC midnight) it was issued. A token of the old shape, made before links carried
// their issue day, returns the contact and a zero time: treat it as expired. A token
// not made by this key for the preference centre is ErrBadToken.
func (s *Signer) VerifyPreferences(token string) (contactID int64, issued time.Time, err error) {
	if ids, err := s.Verify("preferences", token, 2); err == nil {
		return ids[0], time.Unix(ids[1]*secondsPerDay, 0).UTC(), nil
	}
	ids, err := s.Verify("preferences", token, 1)
	if err != nil {
		return 0, time.Time{}, err
	}
	return ids[0], time.Time{}, nil
}
