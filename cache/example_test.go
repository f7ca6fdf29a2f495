package cache_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"log"
	"time"

	"github.com/go-esdk/esdk/cache"
	"github.com/go-esdk/esdk/envelope"
	"github.com/go-esdk/esdk/keyring"
)

// A caching manager over a default manager: ten messages, one data key
// for every four of them.
func ExampleNewManager() {
	ctx := context.Background()
	key := make([]byte, 32)
	rand.Read(key)
	// Usually a KMS keyring.
	kr, err := keyring.NewRawAES(keyring.RawAESOptions{Namespace: "example", Name: "aes-256", WrappingKey: key})
	if err != nil {
		log.Fatal(err)
	}
	c, err := cache.New(cache.CacheOptions{Capacity: 100})
	if err != nil {
		log.Fatal(err)
	}
	inner, err := envelope.NewDefaultManager(kr)
	if err != nil {
		log.Fatal(err)
	}
	mm, err := cache.NewManager(cache.ManagerOptions{
		Inner:       inner,
		Cache:       c,
		MaxAge:      5 * time.Minute,
		MaxMessages: 4,
	})
	if err != nil {
		log.Fatal(err)
	}
	client, err := envelope.New()
	if err != nil {
		log.Fatal(err)
	}
	ec := map[string]string{"tenant": "acme"}
	for i := range 10 {
		msg, err := client.EncryptBytes(ctx, fmt.Appendf(nil, "record %d", i), mm, ec)
		if err != nil {
			log.Fatal(err)
		}
		if _, _, err := client.DecryptBytes(ctx, msg, mm, nil); err != nil {
			log.Fatal(err)
		}
	}
	st := mm.Stats()
	fmt.Printf("%d calls to the keyring, %d hits, %d data keys used up\n", st.InnerCalls, st.Hits, st.Retirements)
	// Output: 6 calls to the keyring, 14 hits, 2 data keys used up
}
