package store

import (
	"testing"

	"golang.org/x/crypto/bcrypt"
)

func TestHashPasswordChecksOnlyItsPassword(t *testing.T) {
	defer func(c int) { passwordCost = c }(passwordCost)
	passwordCost = bcrypt.MinCost
	hash, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !CheckPassword(hash, "correct horse") || CheckPassword(hash, "wrong") {
		t.Error("hash does not check the password")
	}
}
