package web_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/crierhq/crier/internal/auth"
)

// TestBrowserAdminPages: an admin signs in, changes a role, makes a reset link and
// reads the audit log; the volunteer opens the link and sets a password. axe finds
// nothing, every page reflows at 360 px and starts well from the keyboard.
func TestBrowserAdminPages(t *testing.T) {
	r := newAppRig(t)
	r.addAdmin(t)
	ctx := newBrowser(t)

	open(t, ctx, r.srv.URL+"/admin/users", 200) // redirected to sign in
	browse(t, ctx, "sign in as the admin",
		chromedp.SendKeys(chromedp.CSS("#email"), "ann@council.example"),
		chromedp.SendKeys(chromedp.CSS("#password"), appPassword))
	submit(t, ctx, "form[action='/login'] button[type=submit]", 200)
	if h := text(t, ctx, "h1"); h != "Accounts" {
		t.Fatalf("after signing in: %q", h)
	}
	checkPage(t, ctx, "accounts")

	id := func(n int64) string { return strconv.FormatInt(n, 10) }
	browse(t, ctx, "make Sam an officer", chromedp.SetValue(chromedp.CSS("#role-"+id(r.volunteer.ID)), "officer"))
	submit(t, ctx, "form[action='/admin/users/"+id(r.volunteer.ID)+"/role'] button", 200)
	if s := text(t, ctx, ".notice"); !strings.Contains(s, "role is changed") {
		t.Errorf("after the role change: %q", s)
	}
	checkPage(t, ctx, "accounts after a change")

	submit(t, ctx, "button[formaction='/admin/users/"+id(r.otherVolntr.ID)+"/reset']", 200)
	link := text(t, ctx, "#reset-link")
	if !strings.Contains(link, "/reset/") {
		t.Fatalf("reset link: %q", link)
	}
	checkPage(t, ctx, "accounts with a reset link")

	// A new volunteer: added, given a link, then disabled (they left before their first
	// round), so that their link no longer works.
	browse(t, ctx, "add Priya as a volunteer",
		chromedp.SendKeys(chromedp.CSS("#new-email"), "priya@volunteers.example"),
		chromedp.SendKeys(chromedp.CSS("#new-name"), "Priya Shah"),
		chromedp.SetValue(chromedp.CSS("#new-role"), "volunteer"))
	submit(t, ctx, "form[action='/admin/users'] button[type=submit]", 200)
	if s := text(t, ctx, ".notice"); !strings.Contains(s, "Account added for Priya Shah") {
		t.Errorf("after adding an account: %q", s)
	}
	priyaLink := text(t, ctx, "#reset-link")
	if !strings.Contains(priyaLink, "/reset/") {
		t.Fatalf("the new account's link: %q", priyaLink)
	}
	priya, err := auth.NewStore(r.db).Get(t.Context(), "priya@volunteers.example")
	if err != nil || priya.Role != "volunteer" || priya.Disabled {
		t.Fatalf("the new account: %+v, %v", priya, err)
	}
	checkPage(t, ctx, "accounts, one just added")
	submit(t, ctx, "form[action='/admin/users/"+id(priya.ID)+"/disable'] button", 200)
	if s := text(t, ctx, "#u"+id(priya.ID)+" + p .state"); s != "Disabled" {
		t.Errorf("Priya's account after disabling it: %q", s)
	}
	if priya, err = auth.NewStore(r.db).Get(t.Context(), "priya@volunteers.example"); err != nil || !priya.Disabled {
		t.Errorf("the disabled account: %+v, %v", priya, err)
	}
	checkPage(t, ctx, "accounts, one disabled")

	open(t, ctx, r.srv.URL+"/admin/audit", 200)
	if s := text(t, ctx, "table.log tbody"); !strings.Contains(s, "user.add") || !strings.Contains(s, "user.disable") {
		t.Errorf("audit log after adding and disabling an account: %q", s)
	}
	if s := text(t, ctx, "table.log tbody"); !strings.Contains(s, "user.reset_link") || !strings.Contains(s, "user.role") {
		t.Errorf("audit log: %q", s)
	}
	checkPage(t, ctx, "audit log")
	browse(t, ctx, "filter by action", chromedp.SetValue(chromedp.CSS("#action"), "user.role"))
	submit(t, ctx, "form.filters button", 200)
	if s := text(t, ctx, "table.log tbody"); strings.Contains(s, "user.reset_link") {
		t.Errorf("filtered audit log: %q", s)
	}
	checkPage(t, ctx, "audit log, filtered")
	submit(t, ctx, "form[action='/logout'] button", 200)

	open(t, ctx, priyaLink, 404)
	if h := text(t, ctx, "h1"); h != "This link doesn’t work" {
		t.Errorf("a disabled account's link: %q", h)
	}

	open(t, ctx, link, 200)
	checkPage(t, ctx, "reset form")
	browse(t, ctx, "two different passwords",
		chromedp.SendKeys(chromedp.CSS("#password"), "kim's own new passphrase"),
		chromedp.SendKeys(chromedp.CSS("#confirm"), "something else entirely"))
	submit(t, ctx, "form button[type=submit]", 422)
	checkPage(t, ctx, "reset form with an error")
	browse(t, ctx, "the same password twice",
		chromedp.SendKeys(chromedp.CSS("#password"), "kim's own new passphrase"),
		chromedp.SendKeys(chromedp.CSS("#confirm"), "kim's own new passphrase"))
	submit(t, ctx, "form button[type=submit]", 200)
	if h := text(t, ctx, "h1"); h != "Your password is set" {
		t.Errorf("after the reset: %q", h)
	}
	checkPage(t, ctx, "password set")
}
