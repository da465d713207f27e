package store

import (
	"errors"
	"fmt"

	"golang.org/x/crypto/bcrypt"
)

// passwordCost is bcrypt's work factor; tests lower it, because under the
// race detector the default takes seconds per hash.
var passwordCost = bcrypt.DefaultCost

// HashPassword makes the hash SetPasswordHash stores. It is bcrypt: salted,
// slow on purpose, and self-describing, so the cost can rise later without
// breaking stored hashes.
func HashPassword(password string) (string, error) {
	if password == "" {
		return "", errors.New("hash password: empty password")
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), passwordCost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}

// CheckPassword reports whether password matches hash.
func CheckPassword(hash, password string) bool {
	return hash != "" && bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
}
