package destkind

import (
	"fmt"
	"strings"
)

// maxMatrixID is the spec's limit on a user ID's length.
const maxMatrixID = 255

// matrix is a Matrix user the bot messages directly: @localpart:server,
// the localpart in the spec's lowercase characters.
var matrix = Kind{
	Name: Matrix, Title: "Matrix", Example: "@alice:fedora.im",
	Check: func(address string) error {
		local, server, ok := strings.Cut(strings.TrimPrefix(address, "@"), ":")
		bad := !ok || !strings.HasPrefix(address, "@") || local == "" || server == "" || len(address) > maxMatrixID ||
			strings.IndexFunc(local, func(c rune) bool {
				return !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.ContainsRune("._=-/+", c))
			}) >= 0 ||
			strings.IndexFunc(server, func(c rune) bool {
				return !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune(".-:[]", c))
			}) >= 0
		if bad {
			return fmt.Errorf("%q is not a Matrix user ID (@name:server, the name in lowercase letters, digits and ._=-/+)", address)
		}
		return nil
	},
}

// matrixRoom is a Matrix room the bot posts a feed to: a room ID
// (!opaque:server) or an alias (#name:server); the bot joins it, so it
// must be public or the bot invited.
var matrixRoom = Kind{
	Name: MatrixRoom, Title: "Matrix room", Example: "#hark:fedora.im",
	Check: func(address string) error {
		local, server, ok := strings.Cut(address[min(1, len(address)):], ":")
		bad := !ok || !(strings.HasPrefix(address, "!") || strings.HasPrefix(address, "#")) || local == "" || server == "" ||
			len(address) > maxMatrixID || strings.ContainsAny(address, " \t\n")
		if bad {
			return fmt.Errorf("%q is not a Matrix room (!id:server or #alias:server)", address)
		}
		return nil
	},
}
