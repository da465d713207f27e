package templates

import "embed"

// Mail holds the email templates delivery/email renders (text/template):
// single.txt for one notification, digest.txt for a digest, confirm.txt
// for a destination's confirmation link, and the subjects in subject.txt.
//
//go:embed mail
var Mail embed.FS
