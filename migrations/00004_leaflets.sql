-- +goose Up
-- Printed leaflets and the delivery rounds volunteers walk.

-- One print run: a campaign's post audience (addressed) or every household in chosen
-- sectors or streets (an unaddressed drop), rendered as PDFs, grouped into rounds.
CREATE TABLE print_runs (
    id          bigserial PRIMARY KEY,
    campaign_id bigint NOT NULL REFERENCES campaigns (id),
    run_id      bigint REFERENCES campaign_runs (id),  -- addressed: whose post messages it prints
    kind        text NOT NULL CHECK (kind IN ('addressed', 'unaddressed')),
    format      text NOT NULL CHECK (format IN ('a4', 'a5', 'large')),
    round_size  integer NOT NULL CHECK (round_size > 0),
    leaflets    integer NOT NULL DEFAULT 0,
    out_dir     text NOT NULL DEFAULT '',
    created_by  text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX print_runs_campaign_idx ON print_runs (campaign_id);

CREATE TABLE rounds (
    id            bigserial PRIMARY KEY,
    print_run_id  bigint NOT NULL REFERENCES print_runs (id) ON DELETE CASCADE,
    name          text NOT NULL,
    sector        text NOT NULL,
    streets       text[] NOT NULL DEFAULT '{}',
    volunteer     text NOT NULL DEFAULT '',
    assigned_at   timestamptz,
    state         text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'assigned', 'done')),
    completed_at  timestamptz
);
CREATE INDEX rounds_run_idx ON rounds (print_run_id);

-- One door of a round, in walking order. address_id is not a foreign key: addresses are
-- never deleted by crier, and a key would cost every bulk import a trigger per row.
CREATE TABLE round_stops (
    id          bigserial PRIMARY KEY,
    round_id    bigint NOT NULL REFERENCES rounds (id) ON DELETE CASCADE,
    seq         integer NOT NULL,
    address_id  bigint NOT NULL,
    leaflets    integer NOT NULL DEFAULT 1,
    large_print boolean NOT NULL DEFAULT false,
    outbox_ids  bigint[] NOT NULL DEFAULT '{}',  -- the post messages delivered at this door (addressed runs)
    state       text NOT NULL DEFAULT 'pending'
                CHECK (state IN ('pending', 'delivered', 'not_delivered', 'skipped')),
    reason      text NOT NULL DEFAULT '',
    updated_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (round_id, seq)
);

-- +goose Down
DROP TABLE round_stops;
DROP TABLE rounds;
DROP TABLE print_runs;
