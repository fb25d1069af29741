-- +goose Up
-- The foundation schema: people, how to reach them, where they live, what they agreed to,
-- and an audit trail of imports. Later migrations add columns, not a new model.

CREATE TABLE addresses (
    id              bigserial PRIMARY KEY,
    flat            text NOT NULL DEFAULT '',   -- "Flat 3, Marlowe Court"; '' for a house
    house_number    text NOT NULL DEFAULT '',   -- "12", "12A"
    street          text NOT NULL,
    town            text NOT NULL DEFAULT '',
    postcode        text NOT NULL,              -- normalised, "SW2 1RW"
    postcode_sector text NOT NULL,              -- "SW2 1"
    ward            text NOT NULL DEFAULT '',
    delivery_notes  text NOT NULL DEFAULT '',   -- "No junk mail", "Letterbox at side"
    do_not_deliver  boolean NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
-- One row per door: imports find an address by this key rather than creating duplicates.
CREATE UNIQUE INDEX addresses_door_key ON addresses (postcode, lower(street), lower(house_number), lower(flat));
CREATE INDEX addresses_sector_idx ON addresses (postcode_sector, street);
CREATE INDEX addresses_ward_idx ON addresses (ward);

CREATE TABLE households (
    id          bigserial PRIMARY KEY,
    address_id  bigint NOT NULL UNIQUE REFERENCES addresses (id),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE contacts (
    id                  bigserial PRIMARY KEY,
    first_name          text NOT NULL DEFAULT '',
    last_name           text NOT NULL DEFAULT '',
    preferred_language  text NOT NULL DEFAULT 'en',   -- BCP 47 primary tag: en, cy, pl, ...
    large_print         boolean NOT NULL DEFAULT false,
    accessibility_needs text[] NOT NULL DEFAULT '{}', -- e.g. {large-print,easy-read,braille}
    ward                text NOT NULL DEFAULT '',
    tags                text[] NOT NULL DEFAULT '{}',
    attributes          jsonb NOT NULL DEFAULT '{}',
    household_id        bigint REFERENCES households (id),
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX contacts_ward_idx ON contacts (ward);
CREATE INDEX contacts_household_idx ON contacts (household_id);
CREATE INDEX contacts_tags_idx ON contacts USING gin (tags);
CREATE INDEX contacts_attributes_idx ON contacts USING gin (attributes jsonb_path_ops);

-- A way to reach a contact on one channel. value is the normalised address of that
-- channel: a lower-cased email, an E.164 number, or '' for post (address_id says where).
CREATE TABLE contact_points (
    id          bigserial PRIMARY KEY,
    contact_id  bigint NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    kind        text NOT NULL CHECK (kind IN ('email', 'phone', 'postal')),
    value       text NOT NULL DEFAULT '',
    address_id  bigint REFERENCES addresses (id),
    phone_type  text CHECK (phone_type IN ('mobile', 'landline', 'unknown')),
    fictional   boolean NOT NULL DEFAULT false,  -- Ofcom drama range: demos and tests only
    status      text NOT NULL DEFAULT 'active'
                CHECK (status IN ('active', 'bounced', 'invalid', 'opted_out')),
    status_reason text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CHECK ((kind = 'postal') = (address_id IS NOT NULL)),
    CHECK ((kind = 'phone') = (phone_type IS NOT NULL))
);
-- An email address or a phone number belongs to one contact; matching is case-insensitive.
CREATE UNIQUE INDEX contact_points_email_key ON contact_points (lower(value)) WHERE kind = 'email';
CREATE UNIQUE INDEX contact_points_phone_key ON contact_points (value) WHERE kind = 'phone';
CREATE UNIQUE INDEX contact_points_postal_key ON contact_points (contact_id, address_id) WHERE kind = 'postal';
CREATE INDEX contact_points_contact_idx ON contact_points (contact_id);

CREATE TABLE topics (
    id          bigserial PRIMARY KEY,
    slug        text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]*$'),
    name        text NOT NULL,
    description text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO topics (slug, name, description) VALUES
    ('general', 'General news', 'News and updates from the council and its partners');

-- Consent is append-only history per contact point and topic; the current state is the
-- latest row (see current_consents). Nothing updates or deletes a row: a change of mind is
-- a new row with its source ("import file X row N", "SMS STOP", "web form") and time.
CREATE TABLE consents (
    id                bigserial PRIMARY KEY,
    contact_point_id  bigint NOT NULL REFERENCES contact_points (id) ON DELETE CASCADE,
    topic_id          bigint NOT NULL REFERENCES topics (id),
    status            text NOT NULL CHECK (status IN ('granted', 'withdrawn')),
    source            text NOT NULL CHECK (source <> ''),
    import_id         bigint,  -- set when an import recorded it (FK added below)
    recorded_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX consents_point_topic_idx ON consents (contact_point_id, topic_id, recorded_at DESC, id DESC);

-- +goose StatementBegin
CREATE FUNCTION consents_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'consents is append-only: record a new row instead of % on row %', TG_OP, OLD.id;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER consents_no_update BEFORE UPDATE ON consents
    FOR EACH ROW EXECUTE FUNCTION consents_append_only();

CREATE VIEW current_consents AS
    SELECT DISTINCT ON (contact_point_id, topic_id)
           contact_point_id, topic_id, status, source, recorded_at, id AS consent_id
      FROM consents
     ORDER BY contact_point_id, topic_id, recorded_at DESC, id DESC;

-- A contact is subscribed to a topic while at least one of their contact points holds a
-- granted consent for it; this view is derived so it can never disagree with consents.
CREATE VIEW subscriptions AS
    SELECT cp.contact_id, cc.topic_id, array_agg(cp.kind ORDER BY cp.kind) AS channels,
           max(cc.recorded_at) AS since
      FROM current_consents cc
      JOIN contact_points cp ON cp.id = cc.contact_point_id
     WHERE cc.status = 'granted'
     GROUP BY cp.contact_id, cc.topic_id;

-- Audit trail of every import: who, which file (with its hash), what happened.
CREATE TABLE imports (
    id             bigserial PRIMARY KEY,
    file_name      text NOT NULL,
    file_sha256    text NOT NULL DEFAULT '',
    topic_id       bigint REFERENCES topics (id),
    actor          text NOT NULL DEFAULT '',
    status         text NOT NULL CHECK (status IN ('running', 'completed', 'failed', 'rejected')),
    rows_total     integer NOT NULL DEFAULT 0,
    rows_rejected  integer NOT NULL DEFAULT 0,
    contacts_created integer NOT NULL DEFAULT 0,
    contacts_updated integer NOT NULL DEFAULT 0,
    consents_recorded integer NOT NULL DEFAULT 0,
    options        jsonb NOT NULL DEFAULT '{}',
    error          text NOT NULL DEFAULT '',
    started_at     timestamptz NOT NULL DEFAULT now(),
    finished_at    timestamptz
);
ALTER TABLE consents ADD CONSTRAINT consents_import_fk FOREIGN KEY (import_id) REFERENCES imports (id);

-- +goose Down
DROP VIEW subscriptions;
DROP VIEW current_consents;
DROP TABLE consents;
DROP FUNCTION consents_append_only();
DROP TABLE imports;
DROP TABLE topics;
DROP TABLE contact_points;
DROP TABLE contacts;
DROP TABLE households;
DROP TABLE addresses;
