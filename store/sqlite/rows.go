package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"

	"hark/store"
)

// rowsPerInsert is how many rows one multi-row INSERT carries. One
// statement per row paid database/sql's and the driver's per-call cost
// for every notification and term; 64 rows keep the parameters (64 × 7
// for a notification) far below SQLite's limit of 32766.
const rowsPerInsert = 64

// multiInsert writes rows of a fixed width with one statement per
// rowsPerInsert of them: head is the INSERT up to VALUES, row one row's
// placeholders, tail what follows the VALUES (a conflict clause).
type multiInsert struct {
	head, row, tail string
	width           int // parameters per row
}

// sql is the statement for n rows.
func (m multiInsert) sql(n int) string {
	return m.head + strings.TrimSuffix(strings.Repeat(m.row+",", n), ",") + m.tail
}

// exec inserts args (width per row) in tx and says how many rows it
// inserted. The full-size statement is prepared once per call; only the
// remainder is prepared on its own.
func (m multiInsert) exec(ctx context.Context, tx *sql.Tx, args []any) (int64, error) {
	rows := len(args) / m.width
	var inserted int64
	add := func(res sql.Result, err error) error {
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		inserted += n
		return err
	}
	if full := rows / rowsPerInsert; full > 0 {
		stmt, err := tx.PrepareContext(ctx, m.sql(rowsPerInsert))
		if err != nil {
			return 0, err
		}
		defer stmt.Close()
		for i := range full {
			chunk := args[i*rowsPerInsert*m.width : (i+1)*rowsPerInsert*m.width]
			if err := add(stmt.ExecContext(ctx, chunk...)); err != nil {
				return 0, err
			}
		}
	}
	if rest := rows % rowsPerInsert; rest > 0 {
		if err := add(tx.ExecContext(ctx, m.sql(rest), args[len(args)-rest*m.width:]...)); err != nil {
			return 0, err
		}
	}
	return inserted, nil
}

// appendTerms appends the (field, value, ts, msg_id) rows filing message
// id under its topic and what its description names, as insertTerms
// takes them. They are the rows messageTerms selects (the delete trigger
// removes them by the same rule): text that is not JSON is filed under
// its topic only, and a field of the wrong type (packages as a string) is
// skipped while the others are filed, as json_tree does.
func appendTerms(args []any, id int64, m store.Message) []any {
	ts := ms(m.Timestamp)
	args = append(args, store.TermTopic, m.Topic, ts, id)
	src, ok := m.FiledUnder()
	if !ok {
		if err := json.Unmarshal(m.Description, &src); err != nil && !errors.As(err, new(*json.UnmarshalTypeError)) {
			// A type error leaves the fields that did decode filled in.
			return args
		}
	}
	add := func(field, value string) {
		if value != "" {
			args = append(args, field, value, ts, id)
		}
	}
	add(store.TermApp, src.App)
	add(store.TermAgent, src.Agent)
	for _, p := range src.Packages {
		add(store.TermPackage, p)
	}
	for _, u := range src.Usernames {
		add(store.TermUser, u)
	}
	return args
}
