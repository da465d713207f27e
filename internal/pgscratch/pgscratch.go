// Package pgscratch makes throwaway databases on a PostgreSQL server: a
// fresh, empty database per test or benchmark run, dropped afterwards, so
// runs never see each other's rows.
package pgscratch

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"

	"github.com/jackc/pgx/v5"
)

// Create makes a new, empty database on the server that serverURL
// reaches (any database of it, e.g. postgres://postgres@host/postgres)
// and returns the URL of the new database and the function that drops it
// (closing the connections still open to it).
func Create(ctx context.Context, serverURL string) (dbURL string, drop func(context.Context) error, err error) {
	u, err := url.Parse(serverURL)
	if err != nil {
		return "", nil, fmt.Errorf("create scratch database: %w", err)
	}
	var b [6]byte
	rand.Read(b[:])
	name := "hark_scratch_" + hex.EncodeToString(b[:])
	if err := exec(ctx, serverURL, "CREATE DATABASE "+name); err != nil {
		return "", nil, fmt.Errorf("create scratch database: %w", err)
	}
	u.Path = "/" + name
	drop = func(ctx context.Context) error {
		if err := exec(ctx, serverURL, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			return fmt.Errorf("drop scratch database %s: %w", name, err)
		}
		return nil
	}
	return u.String(), drop, nil
}

// exec runs one statement on its own connection to serverURL: CREATE and
// DROP DATABASE cannot run in a transaction or a pool's session.
func exec(ctx context.Context, serverURL, stmt string) error {
	conn, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, stmt)
	return err
}
