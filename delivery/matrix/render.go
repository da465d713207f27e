package matrix

import (
	"fmt"
	"html"
	"strings"

	"maunium.net/go/mautrix/event"

	"hark/delivery"
)

// Render is a batch as one m.notice: "app: title" with the link for one
// notification; a digest's heading then one entry per notification, a
// list in the HTML. Verbose digests carry each entry's subtitle too.
func Render(b *delivery.Batch) *event.MessageEventContent {
	var plain, rich strings.Builder
	if len(b.Items) == 1 && b.Digest == "" {
		it := b.Items[0]
		plain.WriteString(line(it, true))
		rich.WriteString(htmlLine(it, true))
	} else {
		head := fmt.Sprintf("hark: %d notifications", len(b.Items))
		if b.Parts > 1 {
			head += fmt.Sprintf(" (part %d of %d)", b.Part, b.Parts)
		}
		plain.WriteString(head)
		rich.WriteString("<p>" + html.EscapeString(head) + "</p><ul>")
		for _, it := range b.Items {
			plain.WriteString("\n- " + line(it, b.Verbose))
			rich.WriteString("<li>" + htmlLine(it, b.Verbose) + "</li>")
		}
		rich.WriteString("</ul>")
	}
	return &event.MessageEventContent{MsgType: event.MsgNotice, Body: plain.String(), Format: event.FormatHTML, FormattedBody: rich.String()}
}

func line(it delivery.Item, sub bool) string {
	s := it.App + ": " + it.Title
	if sub && it.Subtitle != "" {
		s += " — " + it.Subtitle
	}
	if it.Link != "" {
		s += " " + it.Link
	}
	return s
}

func htmlLine(it delivery.Item, sub bool) string {
	title := html.EscapeString(it.Title)
	if it.Link != "" {
		title = `<a href="` + html.EscapeString(it.Link) + `">` + title + `</a>`
	}
	s := "<b>" + html.EscapeString(it.App) + "</b>: " + title
	if sub && it.Subtitle != "" {
		s += " — " + html.EscapeString(it.Subtitle)
	}
	return s
}
