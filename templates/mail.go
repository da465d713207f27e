package templates

import "embed"

// Mail holds the email templates delivery/email renders (text/template):
// single.txt for one notification, digest.txt for a digest, confirm.txt
// for a destination's confirmation link, and the subjects in subject.txt;
// single.html and digest.html (html/template) are the text/html
// alternatives of the first two.
//
//go:embed mail
var Mail embed.FS
