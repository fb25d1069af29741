package suppression_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"testing"

	"github.com/crierhq/crier/internal/db/dbtest"
	"github.com/crierhq/crier/internal/suppression"
)

func testKey(t *testing.T) *suppression.Key {
	t.Helper()
	k, err := suppression.NewKey(bytes.Repeat([]byte{0x6b}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// The hash is a real HMAC-SHA-256 under the derived key, and PostgreSQL's form of it
// (HashSQL) gives the same bytes, for an ASCII address, a non-ASCII domain and a number.
func TestHashMatchesHMACAndSQL(t *testing.T) {
	link := bytes.Repeat([]byte{0x6b}, 32)
	k := testKey(t)
	d := dbtest.New(t)
	ctx := context.Background()
	m := hmac.New(sha256.New, link)
	m.Write([]byte("crier suppression v1"))
	derived := m.Sum(nil)
	for _, tc := range []struct{ kind, value string }{
		{suppression.Email, "O'Brien+News@Example.org"},
		{suppression.Email, "rana@مثال.مصر"},
		{suppression.Phone, "+447700900123"},
	} {
		mac := hmac.New(sha256.New, derived)
		mac.Write([]byte(suppression.Input(tc.kind, tc.value)))
		want := mac.Sum(nil)
		if got := k.Hash(tc.kind, tc.value); !bytes.Equal(got, want) {
			t.Errorf("%s %q: Hash = %x, HMAC = %x", tc.kind, tc.value, got, want)
		}
		ipad, opad := k.Pads()
		var fromSQL []byte
		if err := d.GetContext(ctx, &fromSQL, `SELECT `+suppression.HashSQL("$3", "$1", "$2"), ipad, opad,
			suppression.Input(tc.kind, tc.value)); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(fromSQL, want) {
			t.Errorf("%s %q: SQL hash = %x, HMAC = %x", tc.kind, tc.value, fromSQL, want)
		}
	}
	if bytes.Equal(k.Hash(suppression.Email, "a@b.org"), k.Hash(suppression.Email, "A@B.ORG")) == false {
		t.Error("an email's hash depends on its case")
	}
	other, _ := suppression.NewKey(bytes.Repeat([]byte{0x6c}, 32))
	if bytes.Equal(k.Hash(suppression.Phone, "+447700900123"), other.Hash(suppression.Phone, "+447700900123")) {
		t.Error("two keys give one hash")
	}
}

func TestAddFind(t *testing.T) {
	k := testKey(t)
	d := dbtest.New(t)
	ctx := context.Background()
	if any, err := suppression.Any(ctx, d); err != nil || any {
		t.Fatalf("Any on an empty list = %v, %v", any, err)
	}
	if err := k.Add(ctx, d, suppression.Phone, "+447700900123", "asked by phone"); err != nil {
		t.Fatal(err)
	}
	if err := k.Add(ctx, d, suppression.Phone, "+447700900123", "again"); err != nil {
		t.Fatal(err)
	}
	e, ok, err := k.Find(ctx, d, suppression.Phone, "+447700900123")
	if err != nil || !ok || e.Reason != "asked by phone" || e.Kind != suppression.Phone {
		t.Fatalf("Find = %+v, %v, %v", e, ok, err)
	}
	if _, ok, err := k.Find(ctx, d, suppression.Phone, "+447700900124"); err != nil || ok {
		t.Fatalf("Find of another number = %v, %v", ok, err)
	}
	var stored int
	if err := d.GetContext(ctx, &stored, `SELECT count(*) FROM suppressions WHERE position('900123' in encode(hash, 'escape')) > 0 OR reason LIKE '%900123%'`); err != nil || stored != 0 {
		t.Fatalf("the number is stored in clear: %d, %v", stored, err)
	}
	if any, err := suppression.Any(ctx, d); err != nil || !any {
		t.Fatalf("Any = %v, %v", any, err)
	}
}
