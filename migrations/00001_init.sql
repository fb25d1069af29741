-- +goose Up
-- The foundation schema: people, how to reach them, where they live, what they agreed to,
-- and an audit trail of imports. Later migrations add columns, not a new model.

-- Key columns use the "C" collation: they are matched and indexed, never shown in
-- alphabetical order, and byte comparison makes bulk imports several times faster than
-- the database's linguistic collation.
CREATE TABLE addresses (
    id              bigserial PRIMARY KEY,
    flat            text COLLATE "C" NOT NULL DEFAULT '',  -- "Flat 3, Marlowe Court"; '' for a house
    house_number    text COLLATE "C" NOT NULL DEFAULT '',  -- "12", "12A"
    street          text COLLATE "C" NOT NULL,
    town            text NOT NULL DEFAULT '',
    postcode        text COLLATE "C" NOT NULL,             -- normalised, "SW2 1RW"
    postcode_sector text COLLATE "C" NOT NULL,             -- "SW2 1"
    ward            text COLLATE "C" NOT NULL DEFAULT '',
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
    address_id  bigint NOT NULL UNIQUE,  -- → addresses (statement-level RI, below)
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE contacts (
    id                  bigserial PRIMARY KEY,
    first_name          text NOT NULL DEFAULT '',
    last_name           text NOT NULL DEFAULT '',
    preferred_language  text NOT NULL DEFAULT 'en',   -- BCP 47 primary tag: en, cy, pl, ...
    large_print         boolean NOT NULL DEFAULT false,
    accessibility_needs text[] NOT NULL DEFAULT '{}', -- e.g. {large-print,easy-read,braille}
    ward                text COLLATE "C" NOT NULL DEFAULT '',
    tags                text[] NOT NULL DEFAULT '{}',
    attributes          jsonb NOT NULL DEFAULT '{}',
    household_id        bigint,  -- → households (statement-level RI, below)
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX contacts_ward_idx ON contacts (ward);
CREATE INDEX contacts_household_idx ON contacts (household_id);
-- Partial: most residents have no tags or attributes, and a GIN index would otherwise
-- hold an "empty" entry for each of them (a third of a bulk import's time). Queries on
-- tags or attributes add the predicate (tags <> '{}') so these indexes apply.
CREATE INDEX contacts_tags_idx ON contacts USING gin (tags) WHERE tags <> '{}';
CREATE INDEX contacts_attributes_idx ON contacts USING gin (attributes jsonb_path_ops) WHERE attributes <> '{}';

-- A way to reach a contact on one channel. value is the normalised address of that
-- channel: a lower-cased email, an E.164 number, or '' for post (address_id says where).
CREATE TABLE contact_points (
    id          bigserial PRIMARY KEY,
    contact_id  bigint NOT NULL,  -- → contacts, cascading (statement-level RI, below)
    kind        text NOT NULL CHECK (kind IN ('email', 'phone', 'postal')),
    value       text COLLATE "C" NOT NULL DEFAULT '',
    address_id  bigint,           -- → addresses (statement-level RI, below)
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
    contact_point_id  bigint NOT NULL,  -- → contact_points, cascading (statement-level RI, below)
    topic_id          bigint NOT NULL,  -- → topics (statement-level RI, below)
    status            text NOT NULL CHECK (status IN ('granted', 'withdrawn')),
    source            text NOT NULL CHECK (source <> ''),
    import_id         bigint,           -- → imports, when an import recorded it
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
    topic_id       bigint REFERENCES topics (id),  -- one row per import: a plain FK
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

-- Referential integrity, checked once per statement rather than once per row.
--
-- A FOREIGN KEY checks each inserted row with its own query and row lock: about 8 µs a
-- row, which made half of a million-row import's time (two million contact points and
-- one and a half million consents). These triggers give the same guarantees with one
-- set-based query per statement over the statement's transition table:
--   * a child row must point at an existing parent (checked after INSERT and UPDATE);
--   * deleting a parent cascades to its children, or is refused while children exist.
-- The race a row lock prevents (a parent deleted while another transaction is still
-- adding children to it) is closed by an advisory lock per parent table: statements
-- adding children hold it shared until their transaction ends, deletions of parents
-- take it exclusively, so each waits for the other and then re-checks against committed
-- data (every statement in these functions takes a fresh snapshot).
-- +goose StatementBegin
CREATE FUNCTION ri_check_children() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    col    text := TG_ARGV[0];
    parent text := TG_ARGV[1];
    bad    text;
BEGIN
    PERFORM pg_advisory_xact_lock_shared(hashtext('crier.ri.' || parent));
    -- An aggregate rather than LIMIT 1: with LIMIT the planner probes the parent's index
    -- row by row even for a million rows; this way it hashes the parent for big
    -- statements and still probes the index for a single row.
    EXECUTE format('SELECT min(n.%1$I)::text FROM new_rows n
                     WHERE NOT EXISTS (SELECT 1 FROM %2$I p WHERE p.id = n.%1$I)', col, parent)
       INTO bad;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'insert or update on table "%" violates foreign key: %=% is not present in table "%"',
            TG_TABLE_NAME, col, bad, parent USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END;
$$;

CREATE FUNCTION ri_parent_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    child  text := TG_ARGV[0];
    col    text := TG_ARGV[1];
    action text := TG_ARGV[2];  -- cascade | restrict
    bad    text;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('crier.ri.' || TG_TABLE_NAME));
    IF action = 'cascade' THEN
        EXECUTE format('DELETE FROM %I c WHERE c.%I IN (SELECT id FROM old_rows)', child, col);
    ELSE
        EXECUTE format('SELECT c.%2$I::text FROM %1$I c WHERE c.%2$I IN (SELECT id FROM old_rows) LIMIT 1', child, col)
           INTO bad;
        IF bad IS NOT NULL THEN
            RAISE EXCEPTION 'delete on table "%" violates foreign key: id=% is still referenced from table "%"',
                TG_TABLE_NAME, bad, child USING ERRCODE = 'foreign_key_violation';
        END IF;
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER households_address_ri_ins AFTER INSERT ON households REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ri_check_children('address_id', 'addresses');
CREATE TRIGGER households_address_ri_upd AFTER UPDATE ON households REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ri_check_children('address_id', 'addresses');
CREATE TRIGGER contacts_household_ri_ins AFTER INSERT ON contacts REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ri_check_children('household_id', 'households');
CREATE TRIGGER contacts_household_ri_upd AFTER UPDATE ON contacts REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ri_check_children('household_id', 'households');
CREATE TRIGGER contact_points_contact_ri_ins AFTER INSERT ON contact_points REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ri_check_children('contact_id', 'contacts');
CREATE TRIGGER contact_points_contact_ri_upd AFTER UPDATE ON contact_points REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ri_check_children('contact_id', 'contacts');
CREATE TRIGGER contact_points_address_ri_ins AFTER INSERT ON contact_points REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ri_check_children('address_id', 'addresses');
CREATE TRIGGER contact_points_address_ri_upd AFTER UPDATE ON contact_points REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ri_check_children('address_id', 'addresses');
CREATE TRIGGER consents_point_ri_ins AFTER INSERT ON consents REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ri_check_children('contact_point_id', 'contact_points');
CREATE TRIGGER consents_topic_ri_ins AFTER INSERT ON consents REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ri_check_children('topic_id', 'topics');
CREATE TRIGGER consents_import_ri_ins AFTER INSERT ON consents REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ri_check_children('import_id', 'imports');
-- (consents are append-only: consents_no_update refuses updates, so no update checks.)

CREATE TRIGGER contacts_ri_del AFTER DELETE ON contacts REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ri_parent_deleted('contact_points', 'contact_id', 'cascade');
CREATE TRIGGER contact_points_ri_del AFTER DELETE ON contact_points REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ri_parent_deleted('consents', 'contact_point_id', 'cascade');
CREATE TRIGGER households_ri_del AFTER DELETE ON households REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ri_parent_deleted('contacts', 'household_id', 'restrict');
CREATE TRIGGER addresses_households_ri_del AFTER DELETE ON addresses REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ri_parent_deleted('households', 'address_id', 'restrict');
CREATE TRIGGER addresses_points_ri_del AFTER DELETE ON addresses REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ri_parent_deleted('contact_points', 'address_id', 'restrict');
CREATE TRIGGER topics_ri_del AFTER DELETE ON topics REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ri_parent_deleted('consents', 'topic_id', 'restrict');
CREATE TRIGGER imports_ri_del AFTER DELETE ON imports REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ri_parent_deleted('consents', 'import_id', 'restrict');

-- +goose Down
DROP VIEW subscriptions;
DROP VIEW current_consents;
DROP TABLE consents;
DROP FUNCTION consents_append_only();
DROP FUNCTION ri_check_children() CASCADE;
DROP FUNCTION ri_parent_deleted() CASCADE;
DROP TABLE imports;
DROP TABLE topics;
DROP TABLE contact_points;
DROP TABLE contacts;
DROP TABLE households;
DROP TABLE addresses;
