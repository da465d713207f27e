package sqlite

import "strings"

// This file is all of the SQLite backend's SQL. Times are INTEGER unix
// milliseconds (0 = unset), booleans INTEGER 0/1, JSON as TEXT.

// migrations are applied in order; the schema's version is how many have
// been applied. Append only: a released migration never changes.
var migrations = []string{
	1:  schemaV1,
	2:  schemaV2,
	3:  schemaV3,
	4:  schemaV4,
	5:  schemaV5,
	6:  schemaV6,
	7:  schemaV7,
	8:  schemaV8,
	9:  schemaV9,
	10: schemaV10,
	11: schemaV11,
	12: schemaV12,
	13: schemaV13,
	14: schemaV14,
	15: schemaV15,
	16: schemaV16,
	17: schemaV17,
}

const createSchemaVersion = `
CREATE TABLE IF NOT EXISTS schema_version (
	id      INTEGER PRIMARY KEY CHECK (id = 1),
	version INTEGER NOT NULL
);
INSERT INTO schema_version (id, version) VALUES (1, 0) ON CONFLICT DO NOTHING`

const (
	selectSchemaVersion = `SELECT version FROM schema_version WHERE id = 1`
	updateSchemaVersion = `UPDATE schema_version SET version = ? WHERE id = 1`
)

var schemaV1 = `
CREATE TABLE users (
	id            INTEGER PRIMARY KEY,
	name          TEXT    NOT NULL UNIQUE,
	admin         INTEGER NOT NULL DEFAULT 0,
	disabled      INTEGER NOT NULL DEFAULT 0,
	password_hash TEXT    NOT NULL DEFAULT '',
	timezone      TEXT    NOT NULL DEFAULT '',
	created       INTEGER NOT NULL
);

CREATE TABLE destinations (
	id              INTEGER PRIMARY KEY,
	user_id         INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	kind            TEXT    NOT NULL CHECK (kind IN ('email', 'irc')),
	address         TEXT    NOT NULL,
	confirmed       INTEGER NOT NULL DEFAULT 0,
	confirm_code    TEXT    NOT NULL DEFAULT '',
	confirm_expires INTEGER NOT NULL DEFAULT 0,
	enabled         INTEGER NOT NULL DEFAULT 1,
	batch_count     INTEGER NOT NULL DEFAULT 0,
	batch_delta_ms  INTEGER NOT NULL DEFAULT 0,
	verbose         INTEGER NOT NULL DEFAULT 0,
	markup          INTEGER NOT NULL DEFAULT 0,
	disabled_reason TEXT    NOT NULL DEFAULT '',
	created         INTEGER NOT NULL,
	UNIQUE (kind, address)
);
CREATE INDEX destinations_user ON destinations (user_id);

CREATE TABLE filters (
	id       INTEGER PRIMARY KEY,
	user_id  INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	name     TEXT    NOT NULL,
	position INTEGER NOT NULL,
	active   INTEGER NOT NULL DEFAULT 1,
	oneshot  INTEGER NOT NULL DEFAULT 0,
	created  INTEGER NOT NULL,
	updated  INTEGER NOT NULL,
	UNIQUE (user_id, name)
);

CREATE TABLE rules (
	filter_id INTEGER NOT NULL REFERENCES filters (id) ON DELETE CASCADE,
	position  INTEGER NOT NULL,
	kind      TEXT    NOT NULL,
	args      TEXT    NOT NULL DEFAULT '',
	negate    INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (filter_id, position)
);

CREATE TABLE filter_destinations (
	filter_id      INTEGER NOT NULL REFERENCES filters (id) ON DELETE CASCADE,
	destination_id INTEGER NOT NULL REFERENCES destinations (id) ON DELETE CASCADE,
	PRIMARY KEY (filter_id, destination_id)
);
CREATE INDEX filter_destinations_destination ON filter_destinations (destination_id);

CREATE TABLE settings (
	id      INTEGER PRIMARY KEY CHECK (id = 1),
	version INTEGER NOT NULL
);
INSERT INTO settings (id, version) VALUES (1, 1);
` + bumpTriggers("users", "destinations", "filters", "rules", "filter_destinations") + `

-- ts orders the preview newest first; received is what retention counts.
CREATE TABLE messages (
	id          INTEGER PRIMARY KEY,
	msg_key     TEXT    NOT NULL UNIQUE,
	topic       TEXT    NOT NULL,
	ts          INTEGER NOT NULL,
	received    INTEGER NOT NULL,
	envelope    TEXT    NOT NULL,
	description TEXT    NOT NULL
);
CREATE INDEX messages_ts ON messages (ts DESC, id DESC);
CREATE INDEX messages_received ON messages (received);

-- The unique (msg_key, destination_id) is what makes a notification exactly
-- once across crashes and re-processing.
CREATE TABLE notifications (
	id             INTEGER PRIMARY KEY,
	msg_key        TEXT    NOT NULL,
	user_id        INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	destination_id INTEGER NOT NULL REFERENCES destinations (id) ON DELETE CASCADE,
	filter_id      INTEGER REFERENCES filters (id) ON DELETE SET NULL,
	state          TEXT    NOT NULL CHECK (state IN ('queued', 'sent', 'failed', 'dead')),
	attempts       INTEGER NOT NULL DEFAULT 0,
	next_attempt   INTEGER NOT NULL,
	last_error     TEXT    NOT NULL DEFAULT '',
	why            TEXT    NOT NULL DEFAULT '',
	created        INTEGER NOT NULL,
	sent           INTEGER NOT NULL DEFAULT 0,
	UNIQUE (msg_key, destination_id)
);
CREATE INDEX notifications_due ON notifications (destination_id, next_attempt)
	WHERE state IN ('queued', 'failed');
CREATE INDEX notifications_state ON notifications (state);
CREATE INDEX notifications_user ON notifications (user_id, id);
CREATE INDEX notifications_filter ON notifications (filter_id);

CREATE TABLE delivery_log (
	id              INTEGER PRIMARY KEY,
	notification_id INTEGER NOT NULL,
	msg_key         TEXT    NOT NULL,
	user_id         INTEGER NOT NULL,
	destination_id  INTEGER NOT NULL,
	filter_id       INTEGER NOT NULL,
	outcome         TEXT    NOT NULL,
	detail          TEXT    NOT NULL DEFAULT '',
	at              INTEGER NOT NULL
);
CREATE INDEX delivery_log_user ON delivery_log (user_id, id);
`

// bumpTriggers makes every insert, update and delete on tables move the
// settings version, whoever writes: the service, the web UI or an admin
// command in another process.
func bumpTriggers(tables ...string) string {
	var b strings.Builder
	for _, table := range tables {
		for _, op := range []string{"INSERT", "UPDATE", "DELETE"} {
			b.WriteString("CREATE TRIGGER " + table + "_" + strings.ToLower(op) + "_bumps_settings AFTER " + op + " ON " + table +
				" BEGIN UPDATE settings SET version = version + 1 WHERE id = 1; END;\n")
		}
	}
	return b.String()
}

// claimNotifications leases due notifications. RETURNING cannot name a
// table alias, hence the unqualified columns.
// The last two parameters pick by filter (store.FilterSet): a JSON list
// of filter ids, and whether the list is of those left out.
var claimNotifications = `
UPDATE notifications SET next_attempt = ?, attempts = attempts + 1
WHERE id IN (
	SELECT id FROM notifications
	WHERE destination_id = ? AND state IN ('queued', 'failed') AND next_attempt <= ?
	AND (COALESCE(filter_id, 0) IN (SELECT value FROM json_each(?))) != ?
	ORDER BY id LIMIT ?)
RETURNING ` + strings.ReplaceAll(notificationColumns, "n.", "")

const selectSettingsVersion = `SELECT version FROM settings WHERE id = 1`

// Users.
const (
	userColumns = `id, name, admin, disabled, password_hash, timezone, created`
	insertUser  = `
INSERT INTO users (name, admin, disabled, password_hash, timezone, created)
VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (name) DO NOTHING`
	selectUserByName   = `SELECT ` + userColumns + ` FROM users WHERE name = ?`
	selectUsers        = `SELECT ` + userColumns + ` FROM users ORDER BY name`
	updateUserPassword = `UPDATE users SET password_hash = ? WHERE name = ?`
	updateUserDisabled = `UPDATE users SET disabled = ? WHERE name = ?`
	updateUserAdmin    = `UPDATE users SET admin = ? WHERE name = ?`
)

// Destinations.
const (
	destinationColumns = `id, user_id, kind, address, confirmed, confirm_code, confirm_expires,
	enabled, batch_count, batch_delta_ms, verbose, markup, disabled_reason, created`
	// destinationSelect is what a Destination is read from: its columns,
	// its kind's settings (see schemaV12) and its digest time (see
	// schemaV9). destinationColumns stays the columns the migrations
	// before schemaV12 copy.
	destinationSelect = destinationColumns + `, settings,
	COALESCE((SELECT digest_at FROM destination_schedules s WHERE s.destination_id = destinations.id), ''),
	COALESCE((SELECT quiet_hours FROM destination_schedules s WHERE s.destination_id = destinations.id), ''),
	COALESCE((SELECT snooze_until FROM destination_schedules s WHERE s.destination_id = destinations.id), 0),
	COALESCE((SELECT snooze_drop FROM destination_schedules s WHERE s.destination_id = destinations.id), 0),
	COALESCE((SELECT at FROM send_problems p WHERE p.destination_id = destinations.id), 0),
	COALESCE((SELECT what FROM send_problems p WHERE p.destination_id = destinations.id), ''),
	COALESCE((SELECT words FROM send_problems p WHERE p.destination_id = destinations.id), ''),
	COALESCE((SELECT attempts FROM send_problems p WHERE p.destination_id = destinations.id), 0),
	COALESCE((SELECT gave_up FROM send_problems p WHERE p.destination_id = destinations.id), 0)`
	putSchedule = `INSERT INTO destination_schedules (destination_id, digest_at, quiet_hours, snooze_until, snooze_drop) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (destination_id) DO UPDATE SET digest_at = excluded.digest_at, quiet_hours = excluded.quiet_hours,
	snooze_until = excluded.snooze_until, snooze_drop = excluded.snooze_drop`
	deleteSchedule    = `DELETE FROM destination_schedules WHERE destination_id = ?`
	insertDestination = `
INSERT INTO destinations (user_id, kind, address, confirmed, confirm_code, confirm_expires,
	enabled, batch_count, batch_delta_ms, verbose, markup, disabled_reason, settings, created)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	updateDestination = `
UPDATE destinations SET user_id = ?, kind = ?, address = ?, confirmed = ?, confirm_code = ?,
	confirm_expires = ?, enabled = ?, batch_count = ?, batch_delta_ms = ?, verbose = ?,
	markup = ?, disabled_reason = ?, settings = ?
WHERE id = ?`
	selectDestinationByID    = `SELECT ` + destinationSelect + ` FROM destinations WHERE id = ?`
	selectDestinationsOfUser = `SELECT ` + destinationSelect + ` FROM destinations WHERE user_id = ? ORDER BY kind, address`
	selectAllDestinations    = `SELECT ` + destinationSelect + ` FROM destinations ORDER BY user_id, kind, address`
	confirmDestination       = `
UPDATE destinations SET confirmed = 1, confirm_code = ''
WHERE id = ? AND confirm_code != '' AND confirm_code = ? AND confirm_expires >= ?`
)

// Filters.
const (
	insertFilter = `
INSERT INTO filters (user_id, name, position, active, oneshot, created, updated)
VALUES (?, ?, ?, ?, ?, ?, ?)`
	updateFilter = `
UPDATE filters SET user_id = ?, name = ?, position = ?, active = ?, oneshot = ?, updated = ?
WHERE id = ?`
	deleteFilter            = `DELETE FROM filters WHERE id = ?`
	selectFilterNamesOfUser = `SELECT id, name FROM filters WHERE user_id = ?`
	deleteRulesOfFilter     = `DELETE FROM rules WHERE filter_id = ?`
	insertRule              = `INSERT INTO rules (filter_id, position, kind, args, negate) VALUES (?, ?, ?, ?, ?)`
	deleteFilterDestination = `DELETE FROM filter_destinations WHERE filter_id = ?`
	insertFilterDestination = `INSERT INTO filter_destinations (filter_id, destination_id) VALUES (?, ?)`
	filterColumns           = `f.id, f.user_id, f.name, f.position, f.active, f.oneshot, f.created, f.updated, ` + filterDeliveryColumns
	selectFiltersOfUser     = `SELECT ` + filterColumns + ` FROM filters f WHERE f.user_id = ? ORDER BY f.position, f.id`
	selectActiveFilters     = `
SELECT ` + filterColumns + ` FROM filters f JOIN users u ON u.id = f.user_id
WHERE f.active = 1 AND u.disabled = 0 ORDER BY f.user_id, f.position, f.id`
	// The rules and destinations of the filters a query selected, read in
	// one statement each rather than one per filter.
	selectRulesOfFilters = `
SELECT filter_id, kind, args, negate FROM rules
WHERE filter_id IN (SELECT value FROM json_each(?)) ORDER BY filter_id, position`
	selectDestinationsOfFilters = `
SELECT filter_id, destination_id FROM filter_destinations
WHERE filter_id IN (SELECT value FROM json_each(?)) ORDER BY filter_id, destination_id`
)

// History.
const (
	checkpointWAL          = `PRAGMA wal_checkpoint(PASSIVE)`
	selectDestinationKinds = `SELECT id, kind FROM destinations`
	insertMessage          = `
INSERT INTO messages (msg_key, topic, ts, received, envelope, description)
VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (msg_key) DO NOTHING`
	messageColumns     = `id, msg_key, topic, ts, received, envelope, description`
	selectHistoryFirst = `SELECT ` + messageColumns + ` FROM messages ORDER BY ts DESC, id DESC LIMIT ?`
	selectHistoryPage  = `
SELECT ` + messageColumns + ` FROM messages
WHERE (ts, id) < (?, ?) ORDER BY ts DESC, id DESC LIMIT ?`
	selectMessagesByKey = `SELECT ` + messageColumns + ` FROM messages WHERE msg_key IN (SELECT value FROM json_each(?))`
	// A message a notification still waits to be sent for is kept: delivery
	// renders from it.
	pruneMessages = `
DELETE FROM messages WHERE received < ? AND NOT EXISTS (
	SELECT 1 FROM notifications n
	WHERE n.msg_key = messages.msg_key AND n.state IN ('queued', 'failed'))
AND NOT EXISTS (SELECT 1 FROM inbox i WHERE i.msg_key = messages.msg_key)`
)

// Queue.
const (
	// useOneshot succeeds for exactly one transaction however many race:
	// the WHERE active = 1 is checked under SQLite's write lock.
	useOneshot          = `UPDATE filters SET active = 0, updated = ? WHERE id = ? AND oneshot = 1 AND active = 1`
	notificationColumns = `n.id, n.msg_key, n.user_id, n.destination_id, COALESCE(n.filter_id, 0), n.state, n.attempts, n.next_attempt, n.last_error,
	COALESCE((SELECT w.text FROM whys w WHERE w.id = n.why_id), n.why), n.created, n.sent`
	selectPending = `
SELECT destination_id, COALESCE(filter_id, 0), COUNT(*), MIN(created) FROM notifications
WHERE state IN ('queued', 'failed') AND next_attempt <= ?
GROUP BY destination_id, COALESCE(filter_id, 0) ORDER BY destination_id`
	// The log row is written first, from the notification as it was.
	logOutcome = `
INSERT INTO delivery_log (notification_id, msg_key, user_id, destination_id, filter_id, outcome, detail, at)
SELECT id, msg_key, user_id, destination_id, COALESCE(filter_id, 0), ?, ?, ? FROM notifications
WHERE id IN (SELECT value FROM json_each(?))`
	markSent   = `UPDATE notifications SET state = 'sent', sent = ?, last_error = '' WHERE id IN (SELECT value FROM json_each(?))`
	markFailed = `UPDATE notifications SET state = 'failed', next_attempt = ?, last_error = ? WHERE id IN (SELECT value FROM json_each(?))`
	markDead   = `UPDATE notifications SET state = 'dead', last_error = ? WHERE id IN (SELECT value FROM json_each(?))`
	// An empty id list means every dead notification.
	selectDead = `
SELECT COALESCE(json_group_array(id), '[]') FROM notifications
WHERE state = 'dead' AND (json_array_length(?1) = 0 OR id IN (SELECT value FROM json_each(?1)))`
	requeue = `UPDATE notifications SET state = 'queued', attempts = 0, next_attempt = ? WHERE id IN (SELECT value FROM json_each(?))`
	// selectQueueDepth reads indexes only (see schemaV4); 'all' is every
	// notification, whatever its state.
	selectQueueDepth = `
SELECT state, COUNT(*) FROM notifications WHERE state IN ('queued', 'failed') GROUP BY state
UNION ALL SELECT 'dead', COUNT(*) FROM notifications WHERE state = 'dead'
UNION ALL SELECT 'all', COUNT(*) FROM notifications`
	// notificationListing is notifications with the names people read.
	notificationListing = `
SELECT ` + notificationColumns + `, u.name, d.kind || ':' || d.address, COALESCE(f.name, '')
FROM notifications n
JOIN users u ON u.id = n.user_id
JOIN destinations d ON d.id = n.destination_id
LEFT JOIN filters f ON f.id = n.filter_id`
	listNotifications = notificationListing + `
WHERE ?1 = '' OR u.name = ?1
ORDER BY n.id DESC LIMIT ?2`
	selectNotificationByID = notificationListing + ` WHERE n.id = ?`
	listDeadNotifications  = notificationListing + ` WHERE n.state = 'dead' ORDER BY n.id DESC LIMIT ?`
	listDeliveryLog        = `
SELECT l.id, l.notification_id, l.msg_key, l.user_id, l.destination_id, l.filter_id, l.outcome, l.detail, l.at
FROM delivery_log l JOIN users u ON u.id = l.user_id
WHERE ?1 = '' OR u.name = ?1
ORDER BY l.id DESC LIMIT ?2`
)

// schemaV2 is what the web UI keeps: login sessions, API tokens and failed
// logins. Sessions and tokens are stored as SHA-256 hashes of the secret
// the browser or script holds, so a copy of the database logs no one in.
const schemaV2 = `
CREATE TABLE sessions (
	hash     TEXT    PRIMARY KEY,
	user_id  INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	created  INTEGER NOT NULL,
	expires  INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE api_tokens (
	id        INTEGER PRIMARY KEY,
	user_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	name      TEXT    NOT NULL,
	hash      TEXT    NOT NULL UNIQUE,
	created   INTEGER NOT NULL,
	last_used INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

CREATE TABLE login_failures (
	key TEXT    NOT NULL,
	at  INTEGER NOT NULL
);
CREATE INDEX login_failures_key ON login_failures (key, at);

-- first_login is when the user first logged in to the web UI (0: never),
-- which is when they get the default filters.
ALTER TABLE users ADD COLUMN first_login INTEGER NOT NULL DEFAULT 0;
`

const (
	insertSession        = `INSERT INTO sessions (hash, user_id, created, expires) VALUES (?, ?, ?, ?)`
	deleteSession        = `DELETE FROM sessions WHERE hash = ?`
	deleteExpiredSession = `DELETE FROM sessions WHERE expires <= ?`
	selectSessionUser    = `
SELECT u.id, u.name, u.admin, u.disabled, u.password_hash, u.timezone, u.created
FROM sessions s JOIN users u ON u.id = s.user_id
WHERE s.hash = ? AND s.expires > ?`

	insertAPIToken    = `INSERT INTO api_tokens (user_id, name, hash, created) VALUES (?, ?, ?, ?)`
	deleteAPIToken    = `DELETE FROM api_tokens WHERE id = ? AND user_id = ?`
	selectAPITokens   = `SELECT id, user_id, name, created, last_used FROM api_tokens WHERE user_id = ? ORDER BY id`
	touchAPIToken     = `UPDATE api_tokens SET last_used = ? WHERE hash = ? RETURNING user_id`
	selectUserByID    = `SELECT ` + userColumns + ` FROM users WHERE id = ?`
	updateUserTZ      = `UPDATE users SET timezone = ? WHERE name = ?`
	deleteUserByName  = `DELETE FROM users WHERE name = ?`
	deleteDestination = `DELETE FROM destinations WHERE id = ?`
	selectDestination = `SELECT ` + destinationSelect + ` FROM destinations WHERE id = ?`

	selectFilterByID    = `SELECT ` + filterColumns + ` FROM filters f WHERE f.id = ?`
	markFirstLogin      = `UPDATE users SET first_login = ? WHERE id = ? AND first_login = 0`
	selectFilterMatches = `
SELECT filter_id, COUNT(DISTINCT msg_key) FROM notifications
WHERE user_id = ? AND filter_id IS NOT NULL AND created > ?
GROUP BY filter_id`
)

// schemaV3 files every history message under what the indexable rules
// look up (its topic, app, packages, usernames and agent), so that a
// preview reads only the messages that can match a filter rather than the
// whole history. The terms come from the stored description by triggers,
// so whoever writes messages (the router, history import) needs not know,
// and rows already stored are filed by the migration itself.
var schemaV3 = `
CREATE TABLE message_terms (
	field  TEXT    NOT NULL,
	value  TEXT    NOT NULL,
	ts     INTEGER NOT NULL,
	msg_id INTEGER NOT NULL,
	PRIMARY KEY (field, value, ts, msg_id)
) WITHOUT ROWID;
CREATE TRIGGER messages_insert_terms AFTER INSERT ON messages BEGIN
	INSERT OR IGNORE INTO message_terms (field, value, ts, msg_id) ` + messageTerms("NEW", "") + `;
END;
-- Deleting by the same terms finds each row by its primary key: no
-- second index on msg_id is needed.
CREATE TRIGGER messages_delete_terms AFTER DELETE ON messages BEGIN
	DELETE FROM message_terms WHERE (field, value, ts, msg_id) IN (` + messageTerms("OLD", "") + `);
END;
INSERT OR IGNORE INTO message_terms (field, value, ts, msg_id) ` + messageTerms("m", "messages m") + `;
`

// messageTerms is a SELECT of the (field, value, ts, msg_id) terms of the
// message row named row, read from the table source from ("" inside a
// trigger, where NEW and OLD need no FROM). The description is parsed
// once, by json_tree: parsing it per field made filing a message cost
// more than storing it. A description that is not valid JSON files the
// message under its topic only.
func messageTerms(row, from string) string {
	src := ""
	if from != "" {
		src = from + ", "
	}
	return `SELECT 'topic', ` + row + `.topic, ` + row + `.ts, ` + row + `.id` + strings.TrimSuffix(" FROM "+from, " FROM ") + `
UNION ALL
SELECT CASE t.path WHEN '$' THEN t.key WHEN '$.packages' THEN 'package' ELSE 'user' END, t.value, ` + row + `.ts, ` + row + `.id
FROM ` + src + `json_tree(CASE WHEN json_valid(` + row + `.description) THEN ` + row + `.description ELSE '{}' END) t
WHERE t.type = 'text' AND t.value != ''
	AND (t.path IN ('$.packages', '$.usernames') OR (t.path = '$' AND t.key IN ('app', 'agent')))`
}

// Preview: history narrowed by terms (see schemaV3).
const (
	// scanColumns are messageColumns with the JSON as BLOB, which the
	// driver hands over without the copy it makes of TEXT: a scan reads
	// every envelope of the history.
	scanColumns = `id, msg_key, topic, ts, received, CAST(envelope AS BLOB), CAST(description AS BLOB)`
	scanHistory = `
SELECT ` + scanColumns + ` FROM messages
WHERE (ts, id) < (?, ?) ORDER BY ts DESC, id DESC LIMIT ?`
	// ?1 is a JSON array of [field, low, high] ranges; a message having a
	// term in any of them qualifies. The inner query walks the terms'
	// primary key and sorts only the qualifying terms. The messages come
	// out in no order: sorting them here would copy every envelope into
	// SQLite's sorter, so the caller sorts.
	selectHistoryByTerms = `
SELECT ` + scanColumns + ` FROM messages WHERE id IN (
	SELECT t.msg_id FROM json_each(?1) w
	JOIN message_terms t ON t.field = w.value ->> 0 AND t.value BETWEEN w.value ->> 1 AND w.value ->> 2
	WHERE (t.ts, t.msg_id) < (?2, ?3)
	GROUP BY t.ts, t.msg_id
	ORDER BY t.ts DESC, t.msg_id DESC LIMIT ?4)`
	// One exact term, the most common preview, walks the terms' primary
	// key backwards: no sorting, and it stops at ?5 rows. Unordered too.
	selectHistoryByTerm = `
SELECT ` + scanColumns + ` FROM messages WHERE id IN (
	SELECT msg_id FROM message_terms
	WHERE field = ?1 AND value = ?2 AND (ts, msg_id) < (?3, ?4)
	ORDER BY ts DESC, msg_id DESC LIMIT ?5)`
	selectTermValues = `SELECT DISTINCT value FROM message_terms WHERE field = ? ORDER BY value`
)

// Delivery: targeted updates that change one thing (store/delivery.go).
const (
	disableDestination = `UPDATE destinations SET disabled_reason = ? WHERE id = ?`
	setConfirmCode     = `UPDATE destinations SET confirm_code = ?, confirm_expires = ? WHERE id = ? AND confirmed = 0`
	setFilterActive    = `UPDATE filters SET active = ?, updated = ? WHERE id = ? AND user_id = ? AND created = ?`
	selectFilterNames  = `SELECT f.id, f.user_id, f.name, f.active, f.created, ` + filterDeliveryColumns + ` FROM filters f`
	// Only notifications still in their lease are released: one marked
	// meanwhile keeps its outcome.
	releaseNotifications = `
UPDATE notifications SET next_attempt = ?, attempts = MAX(attempts - 1, 0)
WHERE id IN (SELECT value FROM json_each(?)) AND state IN ('queued', 'failed')`
)

// schemaV4 makes the write path cheaper; each notification paid for
// every index and foreign key of its table, and each message for a
// json_tree parse of its description.
//   - Filing a message's terms moves to Go (appendTerms), with multi-row
//     inserts: the insert trigger cost about nine tenths of the history's
//     write throughput. Deleting a message still drops its terms by
//     trigger (schemaV3): pruning is off the hot path.
//   - notifications_state goes: QueueDepth counts the queued and failed
//     through notifications_due (state added to it) and the dead through
//     a partial index, which no insert touches since a notification is
//     born queued; the sent are the rest of the table's count.
//   - The foreign key on filter_id and its index go (the table is rebuilt,
//     the only way SQLite drops a constraint): a trigger unlinks a deleted
//     filter's notifications through notifications_user instead.
const schemaV4 = `
DROP TRIGGER messages_insert_terms;

CREATE TABLE notifications_v4 (
	id             INTEGER PRIMARY KEY,
	msg_key        TEXT    NOT NULL,
	user_id        INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	destination_id INTEGER NOT NULL REFERENCES destinations (id) ON DELETE CASCADE,
	filter_id      INTEGER,
	state          TEXT    NOT NULL CHECK (state IN ('queued', 'sent', 'failed', 'dead')),
	attempts       INTEGER NOT NULL DEFAULT 0,
	next_attempt   INTEGER NOT NULL,
	last_error     TEXT    NOT NULL DEFAULT '',
	why            TEXT    NOT NULL DEFAULT '',
	created        INTEGER NOT NULL,
	sent           INTEGER NOT NULL DEFAULT 0,
	UNIQUE (msg_key, destination_id)
);
INSERT INTO notifications_v4 (id, msg_key, user_id, destination_id, filter_id, state, attempts,
	next_attempt, last_error, why, created, sent)
SELECT id, msg_key, user_id, destination_id, filter_id, state, attempts,
	next_attempt, last_error, why, created, sent FROM notifications;
DROP TABLE notifications;
ALTER TABLE notifications_v4 RENAME TO notifications;
CREATE INDEX notifications_due ON notifications (destination_id, next_attempt, state)
	WHERE state IN ('queued', 'failed');
CREATE INDEX notifications_dead ON notifications (id) WHERE state = 'dead';
CREATE INDEX notifications_user ON notifications (user_id, id);
CREATE TRIGGER filters_delete_unlinks_notifications AFTER DELETE ON filters BEGIN
	UPDATE notifications SET filter_id = NULL WHERE user_id = OLD.user_id AND filter_id = OLD.id;
END;
`

// Multi-row inserts of the write path (see multiInsert).
var (
	insertTerms = multiInsert{
		head:  `INSERT OR IGNORE INTO message_terms (field, value, ts, msg_id) VALUES `,
		row:   `(?, ?, ?, ?)`,
		width: 4,
	}
)

// schemaV5 keeps each distinct why once: a filter's verdicts are mostly
// the same text message after message (a few hundred distinct ones over
// tens of thousands of notifications in the ingest benchmark), and at
// ~300 bytes they were most of a notification's row. A notification
// refers to its why by why_id; one with why_id 0 has its text in why
// (rows from before, and the one-shot path's single inserts).
const schemaV5 = `
CREATE TABLE whys (
	id   INTEGER PRIMARY KEY,
	text TEXT    NOT NULL UNIQUE
);
ALTER TABLE notifications ADD COLUMN why_id INTEGER NOT NULL DEFAULT 0;
`

// Whys (see schemaV5 and whyCache).
const (
	insertWhy   = `INSERT INTO whys (text) VALUES (?) ON CONFLICT (text) DO NOTHING`
	selectWhyID = `SELECT id FROM whys WHERE text = ?`
)

// schemaV6 queues a message's notifications as one inbox row instead of a
// row each: a message matched ~10 destinations in the ingest benchmark,
// and the notification rows (~10 µs each, with their indexes) were most
// of the ingest path's cost. An inbox row holds the message's matches
// (see inboxEntry); delivery turns them into notification rows when it
// claims them, so a notification's row is written once, when it is first
// tried, instead of once when queued and again when claimed.
//
// A notification's id is fixed when it is queued: its inbox row's id
// shifted left by inboxShift, plus its position among the message's
// matches; AUTOINCREMENT never gives an id twice, so neither is a
// notification id. The sequence starts past every notification id
// already stored or logged. settled lists the positions that are done
// with (claimed, or their destination is gone) and waiting counts the
// rest; the row goes once it is 0. A position is settled in the same
// transaction that makes its notification row, so whether it waits never
// depends on that row, which deleting its destination takes with it.
const schemaV6 = `
CREATE TABLE inbox (
	id      INTEGER PRIMARY KEY AUTOINCREMENT,
	msg_key TEXT    NOT NULL UNIQUE,
	created INTEGER NOT NULL,
	matches BLOB    NOT NULL,
	waiting INTEGER NOT NULL,
	settled TEXT    NOT NULL DEFAULT '[]'
);
INSERT INTO sqlite_sequence (name, seq)
SELECT 'inbox', (MAX(COALESCE((SELECT MAX(id) FROM notifications), 0),
	COALESCE((SELECT MAX(notification_id) FROM delivery_log), 0)) >> 20) + 1;
`

// Inbox (see schemaV6 and inbox.go).
var insertInbox = multiInsert{
	head:  `INSERT INTO inbox (msg_key, created, matches, waiting) VALUES `,
	row:   `(?, ?, ?, ?)`,
	tail:  ` ON CONFLICT (msg_key) DO NOTHING`,
	width: 4,
}

const (
	// selectQueuedBefore is which of a batch's message keys were queued
	// before (re-processing after a crash, or a message that came twice).
	selectQueuedBefore = `
SELECT value FROM json_each(?1) k
WHERE EXISTS (SELECT 1 FROM inbox WHERE msg_key = k.value)
   OR EXISTS (SELECT 1 FROM notifications WHERE msg_key = k.value)`
	inboxColumns       = `id, msg_key, created, matches, settled`
	selectInboxAfter   = `SELECT ` + inboxColumns + ` FROM inbox WHERE id > ? ORDER BY id`
	selectInboxNewest  = `SELECT ` + inboxColumns + ` FROM inbox ORDER BY id DESC`
	selectInboxByID    = `SELECT ` + inboxColumns + ` FROM inbox WHERE id = ?`
	selectInboxWaiting = `SELECT COALESCE(SUM(waiting), 0) FROM inbox`
	// settleInbox and deleteInboxDone take [[row, [position, ...]], ...];
	// a position settled already is not counted twice.
	settleInbox = `
UPDATE inbox SET
	waiting = waiting - (SELECT COUNT(*) FROM json_each(lost.p) n
		WHERE n.value NOT IN (SELECT value FROM json_each(inbox.settled))),
	settled = (SELECT json_group_array(value) FROM (
		SELECT value FROM json_each(inbox.settled) UNION SELECT value FROM json_each(lost.p)))
FROM (SELECT value ->> 0 AS id, value -> 1 AS p FROM json_each(?1)) AS lost
WHERE inbox.id = lost.id`
	deleteInboxDone = `DELETE FROM inbox WHERE id IN (SELECT value ->> 0 FROM json_each(?1)) AND waiting <= 0`
	// selectDestinationOf is whose destination id is now, and since when:
	// an id can be given again once its destination is deleted.
	selectDestinationOf = `SELECT user_id, created FROM destinations WHERE id = ?`
	selectLiveOf        = `SELECT id FROM destinations WHERE id IN (SELECT value FROM json_each(?))`
	selectNamesOf       = `
SELECT u.name, d.kind || ':' || d.address,
	COALESCE((SELECT f.name FROM filters f WHERE f.id = ?3 AND f.user_id = ?1 AND f.created <= ?4), '')
FROM destinations d JOIN users u ON u.id = d.user_id WHERE d.id = ?2 AND u.id = ?1 AND d.created <= ?4`
	selectUserID  = `SELECT id FROM users WHERE name = ?`
	selectWhyText = `SELECT text FROM whys WHERE id = ?`
)

// materialize makes the notification rows of claimed inbox entries,
// leased like claimNotifications' rows; a filter deleted since is NULL,
// as the delete trigger leaves older rows, and so is a later filter that
// was given its id. RETURNING leaves out a row
// another claim made first.
var materialize = multiInsert{
	head:  `INSERT INTO notifications (id, msg_key, user_id, destination_id, filter_id, state, attempts, next_attempt, why_id, created) VALUES `,
	row:   `(?, ?, ?, ?, (SELECT id FROM filters WHERE id = ? AND user_id = ? AND created <= ?), 'queued', 1, ?, ?, ?)`,
	tail:  ` ON CONFLICT DO NOTHING RETURNING ` + strings.ReplaceAll(notificationColumns, "n.", ""),
	width: 10,
}

// schemaV7 lets several users claim one address until one of them
// confirms it: an unconfirmed destination held its address for good, so
// anyone could squat another person's address, and the refusal told them
// whose addresses were registered. A user has an address once; a
// confirmed address belongs to one user. The table is rebuilt to drop
// its UNIQUE (kind, address), with foreign keys off (see migrate) so
// that dropping the old table cascades to nothing. The failed logins of
// schemaV2 go: the web UI limits logins in memory.
var schemaV7 = `
CREATE TABLE destinations_v7 (
	id              INTEGER PRIMARY KEY,
	user_id         INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	kind            TEXT    NOT NULL CHECK (kind IN ('email', 'irc')),
	address         TEXT    NOT NULL,
	confirmed       INTEGER NOT NULL DEFAULT 0,
	confirm_code    TEXT    NOT NULL DEFAULT '',
	confirm_expires INTEGER NOT NULL DEFAULT 0,
	enabled         INTEGER NOT NULL DEFAULT 1,
	batch_count     INTEGER NOT NULL DEFAULT 0,
	batch_delta_ms  INTEGER NOT NULL DEFAULT 0,
	verbose         INTEGER NOT NULL DEFAULT 0,
	markup          INTEGER NOT NULL DEFAULT 0,
	disabled_reason TEXT    NOT NULL DEFAULT '',
	created         INTEGER NOT NULL
);
INSERT INTO destinations_v7 (` + destinationColumns + `)
SELECT ` + destinationColumns + ` FROM destinations;
DROP TABLE destinations;
ALTER TABLE destinations_v7 RENAME TO destinations;
CREATE UNIQUE INDEX destinations_user ON destinations (user_id, kind, address);
CREATE UNIQUE INDEX destinations_confirmed ON destinations (kind, address) WHERE confirmed = 1;
CREATE INDEX destinations_address ON destinations (kind, address, confirmed);
` + bumpTriggers("destinations") + `
DROP TABLE login_failures;
`

// Destinations claimed by several users (see schemaV7).
const (
	// selectDestinationOf is the user's own destination of an address.
	selectDestinationOfUser = `SELECT id FROM destinations WHERE user_id = ? AND kind = ? AND address = ?`
	// selectConfirmedOwner is who has confirmed an address, but for
	// destination ?3.
	selectConfirmedOwner = `SELECT user_id FROM destinations WHERE kind = ? AND address = ? AND confirmed = 1 AND id != ?`
	// deleteOtherClaims drops the claims of others on an address that
	// has just been confirmed: whoever confirms owns it.
	deleteOtherClaims = `DELETE FROM destinations WHERE kind = ? AND address = ? AND confirmed = 0 AND user_id != ?`
	// selectDestinationClaim is what confirming destination id checks.
	selectDestinationClaim = `SELECT user_id, kind, address, confirmed, confirm_code, confirm_expires FROM destinations WHERE id = ?`
	// pruneUnconfirmed drops unconfirmed destinations made before ?.
	pruneUnconfirmed = `DELETE FROM destinations WHERE confirmed = 0 AND created < ?`
	// selectDestinationsByAddress lists the claims on an address,
	// the confirmed one first, then the newest.
	selectDestinationsByAddress = `SELECT ` + destinationSelect + ` FROM destinations
WHERE kind = ? AND address = ? ORDER BY confirmed DESC, created DESC, id DESC`
)

// schemaV8 drops the CHECK on destinations' kind: destkind knows the
// kinds, and a new one needs no migration. The table is rebuilt as
// schemaV7 did, otherwise unchanged.
var schemaV8 = `
CREATE TABLE destinations_v8 (
	id              INTEGER PRIMARY KEY,
	user_id         INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	kind            TEXT    NOT NULL,
	address         TEXT    NOT NULL,
	confirmed       INTEGER NOT NULL DEFAULT 0,
	confirm_code    TEXT    NOT NULL DEFAULT '',
	confirm_expires INTEGER NOT NULL DEFAULT 0,
	enabled         INTEGER NOT NULL DEFAULT 1,
	batch_count     INTEGER NOT NULL DEFAULT 0,
	batch_delta_ms  INTEGER NOT NULL DEFAULT 0,
	verbose         INTEGER NOT NULL DEFAULT 0,
	markup          INTEGER NOT NULL DEFAULT 0,
	disabled_reason TEXT    NOT NULL DEFAULT '',
	created         INTEGER NOT NULL
);
INSERT INTO destinations_v8 (` + destinationColumns + `)
SELECT ` + destinationColumns + ` FROM destinations;
DROP TABLE destinations;
ALTER TABLE destinations_v8 RENAME TO destinations;
CREATE UNIQUE INDEX destinations_user ON destinations (user_id, kind, address);
CREATE UNIQUE INDEX destinations_confirmed ON destinations (kind, address) WHERE confirmed = 1;
CREATE INDEX destinations_address ON destinations (kind, address, confirmed);
` + bumpTriggers("destinations")

// Completion: the first distinct term value of a field from ?2 (or, for
// the next ones, after ?2) and below ?3 (the end of a prefix), one index
// seek per value found.
const (
	selectFirstTermValue = `
SELECT value FROM message_terms WHERE field = ?1 AND value >= ?2 AND value < ?3 ORDER BY value LIMIT 1`
	selectNextTermValue = `
SELECT value FROM message_terms WHERE field = ?1 AND value > ?2 AND value < ?3 ORDER BY value LIMIT 1`
)

// Exclusion previews: the messages a filter of a user notified since ?3,
// newest first.
const selectFilterMessagesSince = `
SELECT ` + messageColumns + ` FROM messages WHERE msg_key IN (
	SELECT msg_key FROM notifications WHERE user_id = ?1 AND filter_id = ?2 AND created > ?3)
ORDER BY ts DESC, id DESC LIMIT ?4`

// schemaV9 gives a destination a time of day its digest goes out at, in
// its user's time zone ("08:00", "mon 08:00"), and quiet hours
// ("22:00-07:00"; see package schedule), and a snooze: held until
// snooze_until (unix ms), then sent as one digest or, with snooze_drop,
// dropped. It is a table of its own rather than a column of destinations,
// so that the migrations that rebuild destinations copy their columns
// unchanged.
var schemaV9 = `
CREATE TABLE destination_schedules (
	destination_id INTEGER PRIMARY KEY REFERENCES destinations (id) ON DELETE CASCADE,
	digest_at      TEXT    NOT NULL DEFAULT '',
	quiet_hours    TEXT    NOT NULL DEFAULT '',
	snooze_until   INTEGER NOT NULL DEFAULT 0,
	snooze_drop    INTEGER NOT NULL DEFAULT 0
);
`

// schemaV10 keeps each user's Atom feed secret (its hash, as for API
// tokens): one per user, replaced when the user rotates the feed's URL.
var schemaV10 = `
CREATE TABLE feed_secrets (
	user_id     INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
	secret_hash TEXT    NOT NULL UNIQUE,
	created     INTEGER NOT NULL
);
`

// schemaV12 keeps each destination's settings of its kind (a webhook's
// signing secret, an ntfy token) as one JSON object of text values by
// key, so that a kind with new settings needs no migration: destkind
// holds their schema.
var schemaV12 = `
ALTER TABLE destinations ADD COLUMN settings TEXT NOT NULL DEFAULT '{}';
`

// Feed secrets (see schemaV10).
const (
	upsertFeedSecret = `INSERT INTO feed_secrets (user_id, secret_hash, created) VALUES (?, ?, ?)
ON CONFLICT (user_id) DO UPDATE SET secret_hash = excluded.secret_hash, created = excluded.created`
	selectFeedUser = `SELECT ` + userColumnsOfU + ` FROM feed_secrets f JOIN users u ON u.id = f.user_id
WHERE f.secret_hash = ? AND u.disabled = 0`
	userColumnsOfU = `u.id, u.name, u.admin, u.disabled, u.password_hash, u.timezone, u.created`
)

// schemaV11 is the outbox (store.Outbox): hark's own sends to a
// destination, a confirmation code or a test notification, queued by
// whichever process a person asked and sent by the delivery role.
// next_attempt is when it is due, or until when it is leased.
var schemaV11 = `
CREATE TABLE outbox (
	id             INTEGER PRIMARY KEY,
	destination_id INTEGER NOT NULL REFERENCES destinations (id) ON DELETE CASCADE,
	what           TEXT    NOT NULL,
	attempts       INTEGER NOT NULL DEFAULT 0,
	next_attempt   INTEGER NOT NULL,
	created        INTEGER NOT NULL
);
CREATE INDEX outbox_due ON outbox (next_attempt);
CREATE INDEX outbox_destination ON outbox (destination_id);
`

// The outbox (see schemaV11). ?1 of claimSends is the kinds as a JSON
// array.
const (
	insertSend = `INSERT INTO outbox (destination_id, what, next_attempt, created) VALUES (?, ?, ?, ?) RETURNING id`
	claimSends = `
UPDATE outbox SET attempts = attempts + 1, next_attempt = ?3
WHERE id IN (
	SELECT o.id FROM outbox o JOIN destinations d ON d.id = o.destination_id
	WHERE o.next_attempt <= ?2 AND d.kind IN (SELECT value FROM json_each(?1))
	ORDER BY o.id LIMIT ?4)
RETURNING id, destination_id, what, attempts, created`
	deleteSend = `DELETE FROM outbox WHERE id = ?`
)

// schemaV13 holds the leases processes sharing the database elect owners
// with (store.Leases): delivery partitions, chat bots, workers' presence.
// A released or lapsed lease keeps its row, its last owner and its token,
// so the token only grows.
var schemaV13 = `
CREATE TABLE leases (
	name    TEXT    PRIMARY KEY,
	owner   TEXT    NOT NULL,
	token   INTEGER NOT NULL,
	expires INTEGER NOT NULL
) WITHOUT ROWID;
`

// Leases (see schemaV13 and leases.go). acquireLease takes lease ?1 for
// owner ?2 at now ?3 until ?4 when it is free or already ?2's; its token
// stays only when ?2 held it without a lapse.
const (
	selectLeaseOwner = `SELECT owner FROM leases WHERE name = ?`
	acquireLease     = `
INSERT INTO leases (name, owner, token, expires) VALUES (?1, ?2, 1, ?4)
ON CONFLICT (name) DO UPDATE SET
	token = CASE WHEN leases.owner = ?2 AND leases.expires > ?3 THEN leases.token ELSE leases.token + 1 END,
	owner = ?2, expires = ?4
WHERE leases.owner = ?2 OR leases.expires <= ?3
RETURNING name, owner, token, expires`
	releaseLease = `UPDATE leases SET expires = 0 WHERE name = ? AND owner = ?`
	listLeases   = `SELECT name, owner, token, expires FROM leases WHERE substr(name, 1, length(?1)) = ?1 ORDER BY name`
	checkFence   = `SELECT 1 FROM leases WHERE name = ? AND token = ?`
)

// schemaV14 is the change feed (store.Feed): a row per change, its id
// the cursor. Enqueue and RequeueDead add the 'queued' rows, one per
// destination kind of a transaction; the trigger adds a 'settings' row
// whenever the settings version moves, whoever moved it, and deletes the
// older ones: a settings change says only that the settings moved, and
// the newest says it for all of them. AUTOINCREMENT keeps ids from being
// given again after a prune, so a cursor never goes back.
var schemaV14 = `
CREATE TABLE changes (
	id   INTEGER PRIMARY KEY AUTOINCREMENT,
	type TEXT    NOT NULL,
	kind TEXT    NOT NULL DEFAULT '',
	at   INTEGER NOT NULL
);
CREATE INDEX changes_at ON changes (at);
CREATE INDEX changes_settings ON changes (id) WHERE type = 'settings';
CREATE TRIGGER settings_update_records_change AFTER UPDATE OF version ON settings BEGIN
	DELETE FROM changes WHERE type = 'settings';
	INSERT INTO changes (type, at) VALUES ('settings', CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;
`

// The change feed (see schemaV14 and feed.go).
const (
	insertChange  = `INSERT INTO changes (type, kind, at) VALUES (?, ?, ?)`
	selectChanges = `SELECT id, type, kind, at FROM changes WHERE id > ? ORDER BY id LIMIT ?`
	// selectFeedHead is the newest change's id, or the newest there was
	// before a prune deleted it.
	selectFeedHead = `SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'changes'), 0)`
	pruneChanges   = `DELETE FROM changes WHERE at < ?`
	// selectDataVersion moves when another connection committed.
	selectDataVersion = `PRAGMA data_version`
)

// schemaV15 gives a filter a way of its own to be delivered (see
// store.FilterDelivery): urgent (through quiet hours) and a snooze in
// filter_schedules, and per destination a mode that replaces the
// destination's own for the filter's notifications in filter_modes
// (batch_delta in ms; digest_at as schedule.At writes it). Tables of
// their own, as for schemaV9, so that rebuilding filters copies its
// columns unchanged; a filter with none of it has no rows.
var schemaV15 = `
CREATE TABLE filter_schedules (
	filter_id    INTEGER PRIMARY KEY REFERENCES filters (id) ON DELETE CASCADE,
	urgent       INTEGER NOT NULL DEFAULT 0,
	snooze_until INTEGER NOT NULL DEFAULT 0,
	snooze_drop  INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE filter_modes (
	filter_id      INTEGER NOT NULL REFERENCES filters (id) ON DELETE CASCADE,
	destination_id INTEGER NOT NULL REFERENCES destinations (id) ON DELETE CASCADE,
	batch_count    INTEGER NOT NULL DEFAULT 0,
	batch_delta    INTEGER NOT NULL DEFAULT 0,
	digest_at      TEXT    NOT NULL DEFAULT '',
	PRIMARY KEY (filter_id, destination_id)
);
CREATE INDEX filter_modes_destination ON filter_modes (destination_id);
` + bumpTriggers("filter_schedules", "filter_modes")

// Filter delivery (see schemaV15).
const (
	filterDeliveryColumns = `
	COALESCE((SELECT s.urgent FROM filter_schedules s WHERE s.filter_id = f.id), 0),
	COALESCE((SELECT s.snooze_until FROM filter_schedules s WHERE s.filter_id = f.id), 0),
	COALESCE((SELECT s.snooze_drop FROM filter_schedules s WHERE s.filter_id = f.id), 0)`
	putFilterSchedule = `INSERT INTO filter_schedules (filter_id, urgent, snooze_until, snooze_drop) VALUES (?, ?, ?, ?)
ON CONFLICT (filter_id) DO UPDATE SET urgent = excluded.urgent, snooze_until = excluded.snooze_until, snooze_drop = excluded.snooze_drop`
	deleteFilterSchedule = `DELETE FROM filter_schedules WHERE filter_id = ?`
	snoozeFilter         = `INSERT INTO filter_schedules (filter_id, snooze_until, snooze_drop)
SELECT id, ?, ? FROM filters WHERE id = ? AND user_id = ?
ON CONFLICT (filter_id) DO UPDATE SET snooze_until = excluded.snooze_until, snooze_drop = excluded.snooze_drop`
	deleteFilterModes = `DELETE FROM filter_modes WHERE filter_id = ?`
	insertFilterMode  = `INSERT INTO filter_modes (filter_id, destination_id, batch_count, batch_delta, digest_at) VALUES (?, ?, ?, ?, ?)`
	// An empty list reads every filter's modes.
	selectModesOfFilters = `
SELECT filter_id, destination_id, batch_count, batch_delta, digest_at FROM filter_modes
WHERE json_array_length(?1) = 0 OR filter_id IN (SELECT value FROM json_each(?1))`
)

// schemaV16 keeps the last problem of each destination's outbox sends
// (store.Outbox.SetSendProblem) beside it, as destination_schedules
// does: a table of its own is not copied by migrations that rebuild
// destinations, and writing it does not move the settings version (it
// is not a setting, and services need not reload for it).
var schemaV16 = `
CREATE TABLE send_problems (
	destination_id INTEGER PRIMARY KEY REFERENCES destinations (id) ON DELETE CASCADE,
	at             INTEGER NOT NULL,
	what           TEXT    NOT NULL,
	words          TEXT    NOT NULL,
	attempts       INTEGER NOT NULL,
	gave_up        INTEGER NOT NULL
);
`

// Send problems (see schemaV16 and outbox.go). putSendProblem writes
// nothing for a destination that is gone.
const (
	putSendProblem = `
INSERT INTO send_problems (destination_id, at, what, words, attempts, gave_up)
SELECT id, ?, ?, ?, ?, ? FROM destinations WHERE id = ?
ON CONFLICT (destination_id) DO UPDATE SET at = excluded.at, what = excluded.what,
	words = excluded.words, attempts = excluded.attempts, gave_up = excluded.gave_up`
	deleteSendProblem = `DELETE FROM send_problems WHERE destination_id = ?`
	// selectHasSendProblem has no row when there is no destination ?1.
	selectHasSendProblem = `SELECT EXISTS (SELECT 1 FROM send_problems WHERE destination_id = ?1) FROM destinations WHERE id = ?1`
)

// schemaV17 holds delivery's sent journals when they live in the store
// (store.SentJournal; hark serve keeps SQLite's in files beside the
// database, see delivery's journal): ids is the notification ids joined
// by commas. AUTOINCREMENT, so a record's id stays larger than any
// settled before it.
const schemaV17 = `
CREATE TABLE sent_journal (
	id       INTEGER PRIMARY KEY AUTOINCREMENT,
	instance TEXT    NOT NULL,
	kind     TEXT    NOT NULL,
	ids      TEXT    NOT NULL,
	at       INTEGER NOT NULL
);
CREATE INDEX sent_journal_by_instance ON sent_journal (instance, kind, id);
`

// Sent journals (see schemaV17 and journal.go).
const (
	appendSent = `INSERT INTO sent_journal (instance, kind, ids, at) VALUES (?, ?, ?, ?)`
	selectSent = `SELECT id, ids, at FROM sent_journal WHERE instance = ? AND kind = ? ORDER BY id`
	settleSent = `DELETE FROM sent_journal WHERE instance = ? AND kind = ? AND id <= ?`
)
