package config

import (
	"strings"
	"testing"
	"time"
)

func TestBounceConfig(t *testing.T) {
	t.Setenv("CRIER_BOUNCE_SOFT_WINDOW", "14d")
	t.Setenv("CRIER_BOUNCE_SES_TOPIC_ARNS", "arn:aws:sns:eu-west-2:123456789012:bounces, arn:aws:sns:eu-west-2:123456789012:complaints")
	t.Setenv("CRIER_BOUNCE_POSTMARK_TOKEN", "0123456789abcdef0123")
	b := DefaultBounce()
	if err := b.Validate(); err != nil {
		t.Fatal(err)
	}
	if w, _ := b.Window(); w != 14*24*time.Hour || b.SoftThreshold != 3 || b.PollInterval != 5*time.Minute {
		t.Errorf("%+v", b)
	}
	if got := b.Webhooks(); strings.Join(got, ",") != "ses,postmark" {
		t.Errorf("webhooks %v", got)
	}
	if err := (BounceConfig{}).Validate(); err != nil {
		t.Errorf("zero config: %v", err)
	}
	bad := BounceConfig{POP3URL: "smtp://u:hunter2@x", SESTopicARNs: "bounces", PostmarkToken: "hunter2", SoftWindow: "soon"}
	err := bad.Validate()
	for _, key := range []string{"CRIER_BOUNCE_POP3_URL", "CRIER_BOUNCE_SES_TOPIC_ARNS", "CRIER_BOUNCE_POSTMARK_TOKEN", "CRIER_BOUNCE_SOFT_WINDOW"} {
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%v: does not name %s", err, key)
		}
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("a secret in the error: %v", err)
	}
}
