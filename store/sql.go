package store

import "strings"

// This file is all of the SQLite backend's SQL. Times are INTEGER unix
// milliseconds (0 = unset), booleans INTEGER 0/1, JSON as TEXT.

// migrations are applied in order; the schema's version is how many have
// been applied. Append only: a released migration never changes.
var migrations = []string{
	1: schemaV1,
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
var claimNotifications = `
UPDATE notifications SET next_attempt = ?, attempts = attempts + 1
WHERE id IN (
	SELECT id FROM notifications
	WHERE destination_id = ? AND state IN ('queued', 'failed') AND next_attempt <= ?
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
)

// Destinations.
const (
	destinationColumns = `id, user_id, kind, address, confirmed, confirm_code, confirm_expires,
	enabled, batch_count, batch_delta_ms, verbose, markup, disabled_reason, created`
	insertDestination = `
INSERT INTO destinations (user_id, kind, address, confirmed, confirm_code, confirm_expires,
	enabled, batch_count, batch_delta_ms, verbose, markup, disabled_reason, created)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	updateDestination = `
UPDATE destinations SET user_id = ?, kind = ?, address = ?, confirmed = ?, confirm_code = ?,
	confirm_expires = ?, enabled = ?, batch_count = ?, batch_delta_ms = ?, verbose = ?,
	markup = ?, disabled_reason = ?
WHERE id = ?`
	selectDestinationOwner     = `SELECT id, user_id FROM destinations WHERE kind = ? AND address = ?`
	selectDestinationByAddress = `SELECT ` + destinationColumns + ` FROM destinations WHERE kind = ? AND address = ?`
	selectDestinationByID      = `SELECT ` + destinationColumns + ` FROM destinations WHERE id = ?`
	selectDestinationsOfUser   = `SELECT ` + destinationColumns + ` FROM destinations WHERE user_id = ? ORDER BY kind, address`
	selectAllDestinations      = `SELECT ` + destinationColumns + ` FROM destinations ORDER BY user_id, kind, address`
	confirmDestination         = `
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
	filterColumns           = `f.id, f.user_id, f.name, f.position, f.active, f.oneshot, f.created, f.updated`
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
	insertMessage = `
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
	WHERE n.msg_key = messages.msg_key AND n.state IN ('queued', 'failed'))`
)

// Queue.
const (
	insertNotification = `
INSERT INTO notifications (msg_key, user_id, destination_id, filter_id, state, next_attempt, why, created)
VALUES (?, ?, ?, ?, 'queued', ?, ?, ?)
ON CONFLICT (msg_key, destination_id) DO NOTHING`
	// useOneshot succeeds for exactly one transaction however many race:
	// the WHERE active = 1 is checked under SQLite's write lock.
	useOneshot          = `UPDATE filters SET active = 0, updated = ? WHERE id = ? AND oneshot = 1 AND active = 1`
	deleteNotification  = `DELETE FROM notifications WHERE id = ?`
	notificationColumns = `n.id, n.msg_key, n.user_id, n.destination_id, COALESCE(n.filter_id, 0), n.state, n.attempts, n.next_attempt, n.last_error, n.why, n.created, n.sent`
	selectPending       = `
SELECT destination_id, COUNT(*), MIN(created) FROM notifications
WHERE state IN ('queued', 'failed') AND next_attempt <= ?
GROUP BY destination_id ORDER BY destination_id`
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
	requeue           = `UPDATE notifications SET state = 'queued', attempts = 0, next_attempt = ? WHERE id IN (SELECT value FROM json_each(?))`
	selectQueueDepth  = `SELECT state, COUNT(*) FROM notifications GROUP BY state`
	listNotifications = `
SELECT ` + notificationColumns + `, u.name, d.kind || ':' || d.address, COALESCE(f.name, '')
FROM notifications n
JOIN users u ON u.id = n.user_id
JOIN destinations d ON d.id = n.destination_id
LEFT JOIN filters f ON f.id = n.filter_id
WHERE ?1 = '' OR u.name = ?1
ORDER BY n.id DESC LIMIT ?2`
	listDeliveryLog = `
SELECT l.id, l.notification_id, l.msg_key, l.user_id, l.destination_id, l.filter_id, l.outcome, l.detail, l.at
FROM delivery_log l JOIN users u ON u.id = l.user_id
WHERE ?1 = '' OR u.name = ?1
ORDER BY l.id DESC LIMIT ?2`
)
