-- +goose Up
-- Bounces and complaints reported after a relay accepted a message (issue: bounce
-- processing; see internal/bounce and docs/bounces.md): delivery status notifications
-- read from the bounce mailbox (RFC 3464), abuse reports (RFC 5965), and the webhooks of
-- Amazon SES (through SNS), Postmark, Mailgun and SendGrid.
--
-- One row per recipient per report. (source, ref) is the report's own identity — the
-- provider's event id, or the DSN's Message-ID and the recipient's place in it — so a
-- report delivered twice (a webhook retried, a mailbox read again after a crash) is
-- recorded, and counted towards the soft-bounce threshold, once.
--
-- No address is stored: the row names the contact point (deleted with it when a
-- resident is erased) and the message it answers; diagnostics have every email address
-- replaced before they are written.
CREATE TABLE bounce_events (
    id                bigserial PRIMARY KEY,
    contact_point_id  bigint REFERENCES contact_points (id) ON DELETE CASCADE, -- NULL: the address is not a contact's
    outbox_id         bigint REFERENCES outbox (id) ON DELETE SET NULL,        -- the message it answers, when known
    kind              text NOT NULL CHECK (kind IN ('hard', 'soft', 'complaint')),
    source            text NOT NULL CHECK (source IN ('dsn', 'arf', 'ses', 'postmark', 'mailgun', 'sendgrid')),
    ref               text NOT NULL CHECK (ref <> ''),
    status_code       text NOT NULL DEFAULT '',  -- enhanced status (5.1.1) or the provider's code
    diagnostic        text NOT NULL DEFAULT '',  -- the remote server's words, addresses replaced
    reported_at       timestamptz,               -- when the provider says it happened
    received_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (source, ref)
);
-- The soft-bounce threshold counts a point's recent soft bounces.
CREATE INDEX bounce_events_point_idx ON bounce_events (contact_point_id, received_at);
CREATE INDEX bounce_events_outbox_idx ON bounce_events (outbox_id) WHERE outbox_id IS NOT NULL;
CREATE INDEX bounce_events_received_idx ON bounce_events (received_at DESC, id DESC);

-- +goose Down
DROP TABLE bounce_events;
