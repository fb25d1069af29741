-- +goose Up
-- A council gazetteer's Unique Property Reference Number names a door for good: when an
-- import gives one, the UPRN is the door's key, so two residents with one UPRN share a
-- door however their address lines are spelt, and a corrected spelling changes the door
-- rather than adding a second one (issue 12). Addresses without a UPRN keep the old key,
-- (postcode, street, house number, flat), which is now unique only among them; a row
-- without a UPRN whose key matches a door that has one joins that door.
ALTER TABLE addresses ADD COLUMN uprn text COLLATE "C" NOT NULL DEFAULT '';
CREATE UNIQUE INDEX addresses_uprn_key ON addresses (uprn) WHERE uprn <> '';
DROP INDEX addresses_door_key;
CREATE UNIQUE INDEX addresses_door_key ON addresses (postcode, lower(street), lower(house_number), lower(flat)) WHERE uprn = '';
CREATE INDEX addresses_uprn_door_idx ON addresses (postcode, lower(street), lower(house_number), lower(flat)) WHERE uprn <> '';

-- +goose Down
DROP INDEX addresses_uprn_door_idx;
DROP INDEX addresses_door_key;
CREATE UNIQUE INDEX addresses_door_key ON addresses (postcode, lower(street), lower(house_number), lower(flat));
DROP INDEX addresses_uprn_key;
ALTER TABLE addresses DROP COLUMN uprn;
