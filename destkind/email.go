package destkind

import (
	"fmt"
	"net/mail"
)

// email is a bare email address, mailed over SMTP.
var email = Kind{
	Name: Email, Title: "Email", Example: "alice@example.org",
	Check: func(address string) error {
		a, err := mail.ParseAddress(address)
		if err != nil || a.Address != address {
			return fmt.Errorf("%q is not a plain email address like someone@example.org", address)
		}
		return nil
	},
}
