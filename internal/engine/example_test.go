package engine_test

import (
	"bytes"
	"fmt"

	"github.com/go-esdk/esdk/format"
	"github.com/go-esdk/esdk/internal/engine"
)

// A committing suite derives the frame key and the commitment stored in
// the header from the data key and the message id.
func ExampleDeriveKeys() {
	suite := format.MustSuite(format.AES256GCMHKDFSHA512CommitKey)
	dataKey := bytes.Repeat([]byte{1}, suite.KeyLength())
	messageID := bytes.Repeat([]byte{2}, suite.MessageIDLength())
	key, commitment, err := engine.DeriveKeys(suite, dataKey, messageID)
	if err != nil {
		panic(err)
	}
	fmt.Println(len(key), len(commitment))
	fmt.Println(engine.CheckCommitment(commitment, commitment) == nil)
	// Output:
	// 32 32
	// true
}
