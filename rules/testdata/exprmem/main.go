// Command exprmem evaluates the expr rules given as arguments on one
// small message and prints, per rule, "ok <result>" or "error <text>".
// The sandbox tests run it under a limit of address space, where an
// expression escaping its memory budget kills the process.
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"hark/bus"
	"hark/meta"
	"hark/rules"
)

func main() {
	env := &bus.Envelope{Topic: "org.fedoraproject.prod.bodhi.update.comment", Msg: map[string]any{"text": "hello"}}
	for _, src := range os.Args[1:] {
		args, _ := json.Marshal(map[string]string{"expression": src})
		r, err := rules.Compile("expr", args, "alice")
		if err != nil {
			fmt.Printf("error %v\n", err)
			continue
		}
		m := rules.NewMessage(env, &meta.Description{App: "bodhi"}, nil)
		ok, err := r.Eval(m)
		if err != nil {
			fmt.Printf("error %q\n", err.Error())
			continue
		}
		fmt.Printf("ok %v\n", ok)
	}
}
