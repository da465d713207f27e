package bus

import (
	"bytes"
	"testing"
)

// FuzzDecode checks that decoding never panics, and that whatever decodes
// re-encodes canonically into text that decodes again to the same
// canonical text and the same typed fields, both alone and as frames.
// The seeds are the real samples; inputs the fuzzer found interesting are
// kept in testdata/fuzz/FuzzDecode.
func FuzzDecode(f *testing.F) {
	for _, s := range fedmsgSamples(f) {
		f.Add(s.raw)
	}
	f.Add([]byte(`{"topic":"t","msg":{"x":0.0,"y":-0,"z":1E+2,"s":"\ud83d\ude00\u0000\u007f"}}`))
	f.Add([]byte(`{"topic":"t","msg":null,"timestamp":1.5e9,"i":9007199254740993}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		env, err := Decode(data)
		if err != nil {
			return
		}
		canon := Canonical(env.Fields)
		again, err := Decode(canon)
		if err != nil {
			t.Fatalf("canonical text does not decode: %v\n%s", err, canon)
		}
		if canon2 := Canonical(again.Fields); !bytes.Equal(canon, canon2) {
			t.Fatalf("canonical text changed on a second pass:\n%s\n%s", canon, canon2)
		}
		if again.Topic != env.Topic || again.MsgID != env.MsgID || again.I != env.I || again.SeqID != env.SeqID ||
			again.Timestamp != env.Timestamp || again.Username != env.Username || again.Signature != env.Signature {
			t.Fatalf("typed fields changed through canonical text:\n%+v\n%+v", env, again)
		}
		if _, err := DecodeFrames([][]byte{[]byte(env.Topic), data}); err != nil {
			t.Fatalf("decodes alone but not under its own topic frame: %v", err)
		}
		if !bytes.Equal(CompactUTF8(env.Fields), CompactUTF8(again.Fields)) {
			t.Fatalf("UTF-8 text changed through canonical text")
		}
	})
}
