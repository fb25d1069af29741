-- The set-based merge of one import, run statement by statement inside the import's
-- transaction after every valid row was COPYed into import_rows. Statements are
-- separated by a line holding only "-- next" and take no parameters.
--
-- import_rows is wide and never updated (a 1M-row UPDATE rewrites every tuple); each
-- step instead builds a narrow temp table keyed by line and the steps join on it.
-- Temp tables are never auto-analysed, so the big ones are ANALYZEd by hand: without
-- that the planner guesses and picks nested loops over a million rows.

-- Addresses with a UPRN: the UPRN is the door's key (migrations/00010_uprn.sql). A door
-- on record without one, whose address matches, takes the file's UPRN rather than
-- becoming a second door; then the last row of the file about each UPRN sets the door's
-- address (a gazetteer's spelling corrects ours). Both steps touch nothing when the
-- file has no UPRN column.
UPDATE addresses a SET uprn = u.uprn, updated_at = now()
  FROM (SELECT r.uprn, r.postcode, r.street, r.house_number, r.flat
          FROM import_rows r
          JOIN (SELECT max(line) AS line FROM import_rows WHERE uprn <> '' GROUP BY uprn) d ON d.line = r.line) u
 WHERE a.uprn = '' AND a.postcode = u.postcode AND lower(a.street) = lower(u.street)
   AND lower(a.house_number) = lower(u.house_number) AND lower(a.flat) = lower(u.flat)
   AND NOT EXISTS (SELECT 1 FROM addresses b WHERE b.uprn = u.uprn)
-- next
INSERT INTO addresses (uprn, flat, house_number, street, town, postcode, postcode_sector, ward, delivery_notes, do_not_deliver)
SELECT r.uprn, r.flat, r.house_number, r.street, r.town, r.postcode, r.sector, r.ward, r.delivery_notes, r.do_not_deliver
  FROM import_rows r
  JOIN (SELECT max(line) AS line FROM import_rows WHERE uprn <> '' GROUP BY uprn) d ON d.line = r.line
ON CONFLICT (uprn) WHERE uprn <> '' DO UPDATE SET
       flat = EXCLUDED.flat, house_number = EXCLUDED.house_number, street = EXCLUDED.street,
       postcode = EXCLUDED.postcode, postcode_sector = EXCLUDED.postcode_sector,
       town = CASE WHEN EXCLUDED.town <> '' THEN EXCLUDED.town ELSE addresses.town END,
       ward = CASE WHEN EXCLUDED.ward <> '' THEN EXCLUDED.ward ELSE addresses.ward END,
       delivery_notes = CASE WHEN EXCLUDED.delivery_notes <> '' THEN EXCLUDED.delivery_notes ELSE addresses.delivery_notes END,
       do_not_deliver = CASE WHEN EXCLUDED.delivery_notes <> '' THEN EXCLUDED.do_not_deliver ELSE addresses.do_not_deliver END,
       updated_at = now()
 WHERE (addresses.flat, addresses.house_number, addresses.street, addresses.postcode,
        addresses.town, addresses.ward, addresses.delivery_notes, addresses.do_not_deliver)
       IS DISTINCT FROM (EXCLUDED.flat, EXCLUDED.house_number, EXCLUDED.street, EXCLUDED.postcode,
                         CASE WHEN EXCLUDED.town <> '' THEN EXCLUDED.town ELSE addresses.town END,
                         CASE WHEN EXCLUDED.ward <> '' THEN EXCLUDED.ward ELSE addresses.ward END,
                         CASE WHEN EXCLUDED.delivery_notes <> '' THEN EXCLUDED.delivery_notes ELSE addresses.delivery_notes END,
                         CASE WHEN EXCLUDED.delivery_notes <> '' THEN EXCLUDED.do_not_deliver ELSE addresses.do_not_deliver END)
-- next
-- Addresses without a UPRN: one row per door, keyed by (postcode, street, number, flat);
-- the last row of the file about a door wins for town, ward and notes (picked by
-- hashing: sorting a million rows on four text keys is slower). A door that has a UPRN
-- and the same address is that door: no second one is made. Door keys fold case in the
-- "C" collation, i.e. ASCII letters only.
INSERT INTO addresses (flat, house_number, street, town, postcode, postcode_sector, ward, delivery_notes, do_not_deliver)
SELECT r.flat, r.house_number, r.street, r.town, r.postcode, r.sector, r.ward, r.delivery_notes, r.do_not_deliver
  FROM import_rows r
  JOIN (SELECT max(line) AS line FROM import_rows WHERE street <> '' AND uprn = ''
         GROUP BY postcode, lower(street), lower(house_number), lower(flat)) d ON d.line = r.line
 WHERE NOT EXISTS (SELECT 1 FROM addresses u
                    WHERE u.uprn <> '' AND u.postcode = r.postcode AND lower(u.street) = lower(r.street)
                      AND lower(u.house_number) = lower(r.house_number) AND lower(u.flat) = lower(r.flat))
ON CONFLICT (postcode, lower(street), lower(house_number), lower(flat)) WHERE uprn = '' DO UPDATE SET
       town = CASE WHEN EXCLUDED.town <> '' THEN EXCLUDED.town ELSE addresses.town END,
       ward = CASE WHEN EXCLUDED.ward <> '' THEN EXCLUDED.ward ELSE addresses.ward END,
       delivery_notes = CASE WHEN EXCLUDED.delivery_notes <> '' THEN EXCLUDED.delivery_notes ELSE addresses.delivery_notes END,
       do_not_deliver = CASE WHEN EXCLUDED.delivery_notes <> '' THEN EXCLUDED.do_not_deliver ELSE addresses.do_not_deliver END,
       updated_at = now()
 WHERE (addresses.town, addresses.ward, addresses.delivery_notes, addresses.do_not_deliver)
       IS DISTINCT FROM (CASE WHEN EXCLUDED.town <> '' THEN EXCLUDED.town ELSE addresses.town END,
                         CASE WHEN EXCLUDED.ward <> '' THEN EXCLUDED.ward ELSE addresses.ward END,
                         CASE WHEN EXCLUDED.delivery_notes <> '' THEN EXCLUDED.delivery_notes ELSE addresses.delivery_notes END,
                         CASE WHEN EXCLUDED.delivery_notes <> '' THEN EXCLUDED.do_not_deliver ELSE addresses.do_not_deliver END)
-- next
-- Each row's door: by UPRN; else the door without a UPRN at that address; else the
-- (first) door with a UPRN at that address.
CREATE TEMP TABLE import_addr ON COMMIT DROP AS
SELECT r.line, a.id AS address_id
  FROM import_rows r JOIN addresses a ON a.uprn = r.uprn
 WHERE r.uprn <> ''
UNION ALL
SELECT r.line, a.id
  FROM import_rows r
  JOIN addresses a ON a.postcode = r.postcode AND lower(a.street) = lower(r.street)
                  AND lower(a.house_number) = lower(r.house_number) AND lower(a.flat) = lower(r.flat)
 WHERE r.street <> '' AND r.uprn = '' AND a.uprn = ''
UNION ALL
SELECT r.line, min(a.id)
  FROM import_rows r
  JOIN addresses a ON a.postcode = r.postcode AND lower(a.street) = lower(r.street)
                  AND lower(a.house_number) = lower(r.house_number) AND lower(a.flat) = lower(r.flat)
 WHERE r.street <> '' AND r.uprn = '' AND a.uprn <> ''
   AND NOT EXISTS (SELECT 1 FROM addresses b
                    WHERE b.uprn = '' AND b.postcode = r.postcode AND lower(b.street) = lower(r.street)
                      AND lower(b.house_number) = lower(r.house_number) AND lower(b.flat) = lower(r.flat))
 GROUP BY r.line
-- next
INSERT INTO households (address_id)
SELECT DISTINCT address_id FROM import_addr
ON CONFLICT (address_id) DO NOTHING
-- next
-- Match people already known: by email first, then by mobile, then by other phone (as
-- the identity check found them, in import_match), then -- for residents reached only
-- on paper -- the same name at the same door. A landline is a household's, not a
-- person's: it finds only a row with no email and no mobile of its own (a new email
-- beside the family's home phone is a new person). Every join is on a unique key (or
-- grouped to one), so each row of the file appears once.
CREATE TEMP TABLE import_known ON COMMIT DROP AS
SELECT r.line, coalesce(x.by_email, x.by_mobile, x.by_phone, n.contact_id) AS contact_id, ia.address_id,
       x.email_point, x.mobile_point, x.phone_point
  FROM import_rows r
  JOIN import_match x ON x.line = r.line
  LEFT JOIN import_addr ia ON ia.line = r.line
  LEFT JOIN (SELECT h.address_id, lower(c.first_name) AS fn, lower(c.last_name) AS ln, min(c.id) AS contact_id
               FROM contacts c JOIN households h ON h.id = c.household_id
              WHERE h.address_id IN (SELECT address_id FROM import_addr)
              GROUP BY 1, 2, 3) n
         ON n.address_id = ia.address_id AND n.fn = lower(r.first_name) AND n.ln = lower(r.last_name)
        AND (r.first_name <> '' OR r.last_name <> '')
-- next
ANALYZE import_known
-- next
-- New people: rows of the file that describe the same person share a key. A row known
-- only by a number that another row gives together with an email is that person.
CREATE TEMP TABLE import_keys ON COMMIT DROP AS
WITH unknown AS (
    SELECT r.line, r.email_key, r.mobile, r.phone, r.first_name, r.last_name, k.address_id
      FROM import_rows r JOIN import_known k ON k.line = r.line
     WHERE k.contact_id IS NULL
), nums AS (
    SELECT DISTINCT ON (num) num, 'e:' || email_key AS match_key
      FROM (SELECT mobile AS num, email_key, line FROM unknown WHERE email_key <> '' AND mobile <> ''
            UNION ALL
            SELECT phone, email_key, line FROM unknown WHERE email_key <> '' AND phone <> '') x
     ORDER BY num, line
)
SELECT u.line,
       (CASE WHEN u.email_key <> '' THEN 'e:' || u.email_key
            ELSE coalesce(nums.match_key,
                          CASE WHEN u.mobile <> '' THEN 'p:' || u.mobile
                               WHEN u.phone <> '' THEN 'p:' || u.phone
                               ELSE 'a:' || coalesce(u.address_id::text, 'line' || u.line) || ':'
                                    || lower(u.first_name) || ':' || lower(u.last_name) END)
       END) COLLATE "C" AS match_key
  FROM unknown u
  LEFT JOIN nums ON u.email_key = '' AND nums.num = CASE WHEN u.mobile <> '' THEN u.mobile ELSE nullif(u.phone, '') END
-- next
ANALYZE import_keys
-- next
-- New ids follow the keys' order, so the contact points inserted below (in email order)
-- land in the indexes nearly in order instead of at random.
CREATE TEMP TABLE import_new ON COMMIT DROP AS
SELECT match_key, nextval('contacts_id_seq') AS contact_id
  FROM (SELECT DISTINCT match_key FROM import_keys ORDER BY match_key) k
-- next
ANALYZE import_new
-- next
-- Each row's person, and the points on record for the row: its email and numbers, and
-- the postal point of a person known at that door.
CREATE TEMP TABLE import_resolved ON COMMIT DROP AS
SELECT k.line, coalesce(k.contact_id, n.contact_id) AS contact_id, k.contact_id IS NULL AS is_new, k.address_id,
       k.email_point, k.mobile_point, k.phone_point, pp.id AS postal_point
  FROM import_known k
  LEFT JOIN import_keys ik ON ik.line = k.line
  LEFT JOIN import_new n ON n.match_key = ik.match_key
  LEFT JOIN contact_points pp ON k.contact_id IS NOT NULL AND pp.kind = 'postal'
                             AND pp.contact_id = k.contact_id AND pp.address_id = k.address_id
-- next
ANALYZE import_resolved
-- next
-- The last row of the file about a person wins (found by hashing, not by sorting wide rows).
CREATE TEMP TABLE import_last ON COMMIT DROP AS
SELECT contact_id, max(line) AS line, bool_or(is_new) AS is_new
  FROM import_resolved GROUP BY contact_id
-- next
ANALYZE import_last

-- next
WITH ic AS (SELECT r.*, l.contact_id AS cid, l.is_new, x.address_id AS aid
              FROM import_last l
              JOIN import_rows r ON r.line = l.line
              JOIN import_resolved x ON x.line = l.line)
INSERT INTO contacts (id, first_name, last_name, preferred_language, large_print, accessibility_needs,
                      ward, tags, attributes, household_id)
SELECT ic.cid, ic.first_name, ic.last_name, coalesce(nullif(ic.language, ''), 'en'),
       coalesce(ic.large_print, false),
       CASE WHEN ic.accessibility = '' THEN '{}' ELSE string_to_array(ic.accessibility, ';') END,
       ic.ward,
       CASE WHEN ic.tags = '' THEN '{}' ELSE string_to_array(ic.tags, ';') END,
       ic.attributes, h.id
  FROM ic LEFT JOIN households h ON h.address_id = ic.aid
 WHERE ic.is_new
 ORDER BY ic.cid -- in key order, index inserts append instead of landing at random
-- next
-- Known people: a filled cell updates, an empty cell keeps what we had; tags accumulate.
-- Only people something changes for are updated (and counted as updated): re-importing
-- an export changes nothing.
WITH ic AS (SELECT r.*, l.contact_id AS cid, l.is_new, x.address_id AS aid
              FROM import_last l
              JOIN import_rows r ON r.line = l.line
              JOIN import_resolved x ON x.line = l.line)
UPDATE contacts c SET
       first_name = CASE WHEN ic.first_name <> '' THEN ic.first_name ELSE c.first_name END,
       last_name = CASE WHEN ic.last_name <> '' THEN ic.last_name ELSE c.last_name END,
       preferred_language = CASE WHEN ic.language <> '' THEN ic.language ELSE c.preferred_language END,
       large_print = coalesce(ic.large_print, c.large_print),
       accessibility_needs = CASE WHEN ic.accessibility = '' THEN c.accessibility_needs
                                  ELSE ARRAY(SELECT DISTINCT unnest(c.accessibility_needs || string_to_array(ic.accessibility, ';'))) END,
       ward = CASE WHEN ic.ward <> '' THEN ic.ward ELSE c.ward END,
       tags = CASE WHEN ic.tags = '' THEN c.tags
                   ELSE ARRAY(SELECT DISTINCT unnest(c.tags || string_to_array(ic.tags, ';'))) END,
       attributes = c.attributes || ic.attributes,
       household_id = coalesce(h.id, c.household_id),
       updated_at = now()
  FROM ic LEFT JOIN households h ON h.address_id = ic.aid
 WHERE c.id = ic.cid AND NOT ic.is_new
   AND ((ic.first_name <> '' AND ic.first_name <> c.first_name)
     OR (ic.last_name <> '' AND ic.last_name <> c.last_name)
     OR (ic.language <> '' AND ic.language <> c.preferred_language)
     OR (ic.large_print IS NOT NULL AND ic.large_print <> c.large_print)
     OR (ic.accessibility <> '' AND NOT c.accessibility_needs @> string_to_array(ic.accessibility, ';'))
     OR (ic.ward <> '' AND ic.ward <> c.ward)
     OR (ic.tags <> '' AND NOT c.tags @> string_to_array(ic.tags, ';'))
     OR NOT c.attributes @> ic.attributes
     OR (h.id IS NOT NULL AND h.id IS DISTINCT FROM c.household_id))
-- next
-- An email or number already held by someone stays theirs: those found on record
-- (import_resolved) are left out, so a re-import inserts nothing instead
-- of probing the unique keys for every row, and one recorded since by another
-- transaction is kept by DO NOTHING.
INSERT INTO contact_points (contact_id, kind, value)
SELECT DISTINCT ON (r.email_key) x.contact_id, 'email', r.email
  FROM import_rows r JOIN import_resolved x ON x.line = r.line
 WHERE r.email_key <> '' AND x.email_point IS NULL
 ORDER BY r.email_key, r.line DESC
ON CONFLICT (lower(value)) WHERE kind = 'email' DO NOTHING
-- next
INSERT INTO contact_points (contact_id, kind, value, phone_type, fictional)
SELECT DISTINCT ON (num) contact_id, 'phone', num, typ, fict
  FROM (SELECT x.contact_id, r.mobile AS num, r.mobile_type AS typ, r.mobile_fictional AS fict, r.line
          FROM import_rows r JOIN import_resolved x ON x.line = r.line
         WHERE r.mobile <> '' AND x.mobile_point IS NULL
        UNION ALL
        SELECT x.contact_id, r.phone, r.phone_type, r.phone_fictional, r.line
          FROM import_rows r JOIN import_resolved x ON x.line = r.line
         WHERE r.phone <> '' AND x.phone_point IS NULL) x
 ORDER BY num, line DESC
ON CONFLICT (value) WHERE kind = 'phone' DO NOTHING
-- next
INSERT INTO contact_points (contact_id, kind, address_id)
SELECT DISTINCT contact_id, 'postal', address_id FROM import_resolved
 WHERE address_id IS NOT NULL AND postal_point IS NULL
 ORDER BY contact_id, address_id
ON CONFLICT (contact_id, address_id) WHERE kind = 'postal' DO NOTHING
-- next
-- The consent each row states for each contact point; the last row about a point wins.
-- SMS consent attaches to numbers that can take texts (not landlines). A point this
-- transaction created (its xmin, and its created_at: no tuple from 2^32 transactions
-- ago has both) is fresh: nothing about it is on record (consent.ApplyImport).
-- Nothing in an import updates contact_points, so xmin means inserted here.
CREATE TEMP TABLE import_consents ON COMMIT DROP AS
SELECT DISTINCT ON (point_id) point_id, granted, line,
       (xmin = pg_current_xact_id()::xid AND created_at = now()) AS fresh
  FROM (SELECT cp.id AS point_id, r.email_consent AS granted, r.line, cp.xmin, cp.created_at
          FROM import_rows r JOIN contact_points cp ON cp.kind = 'email' AND lower(cp.value) = r.email_key
         WHERE r.email_consent IS NOT NULL AND r.email_key <> ''
        UNION ALL
        SELECT cp.id, r.sms_consent, r.line, cp.xmin, cp.created_at
          FROM import_rows r JOIN contact_points cp ON cp.kind = 'phone' AND cp.value = r.mobile
         WHERE r.sms_consent IS NOT NULL AND r.mobile <> '' AND cp.phone_type <> 'landline'
        UNION ALL
        SELECT cp.id, r.sms_consent, r.line, cp.xmin, cp.created_at
          FROM import_rows r JOIN contact_points cp ON cp.kind = 'phone' AND cp.value = r.phone
         WHERE r.sms_consent IS NOT NULL AND r.phone <> '' AND cp.phone_type <> 'landline'
        UNION ALL
        SELECT cp.id, r.post_consent, r.line, cp.xmin, cp.created_at
          FROM import_rows r JOIN import_resolved x ON x.line = r.line
          JOIN contact_points cp ON cp.kind = 'postal' AND cp.contact_id = x.contact_id AND cp.address_id = x.address_id
         WHERE r.post_consent IS NOT NULL AND x.address_id IS NOT NULL) x
 ORDER BY point_id, line DESC
