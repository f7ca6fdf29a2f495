package main

import (
	"flag"
	"time"

	"github.com/go-esdk/esdk/cache"
	"github.com/go-esdk/esdk/envelope"
)

// cacheFlags turn on the data-key cache: with --cache-max-age, files of
// one run share data keys within the limits.
type cacheFlags struct {
	maxAge      time.Duration
	maxMessages uint64
	maxBytes    uint64
	capacity    int
}

const defaultCacheCapacity = 100

func (c *cacheFlags) register(fs *flag.FlagSet) {
	fs.DurationVar(&c.maxAge, "cache-max-age", 0, "")
	fs.Uint64Var(&c.maxMessages, "cache-max-messages", 0, "")
	fs.Uint64Var(&c.maxBytes, "cache-max-bytes", 0, "")
	fs.IntVar(&c.capacity, "cache-capacity", defaultCacheCapacity, "")
}

// check validates the flags once parsed.
func (c *cacheFlags) check(fs *flag.FlagSet) error {
	var given []string
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "cache-max-messages", "cache-max-bytes", "cache-capacity":
			given = append(given, f.Name)
		}
	})
	if c.maxAge == 0 {
		if len(given) > 0 {
			return usagef("--%s needs --cache-max-age, which turns the data-key cache on", given[0])
		}
		return nil
	}
	switch {
	case c.maxAge < 0:
		return usagef("--cache-max-age %v: must be greater than zero", c.maxAge)
	case c.capacity < 1:
		return usagef("--cache-capacity %d: must be at least 1", c.capacity)
	case c.maxMessages > cache.DefaultMaxMessages:
		return usagef("--cache-max-messages %d: at most %d", c.maxMessages, uint64(cache.DefaultMaxMessages))
	case c.maxBytes > cache.DefaultMaxBytes:
		return usagef("--cache-max-bytes %d: at most %d", c.maxBytes, uint64(cache.DefaultMaxBytes))
	}
	return nil
}

// wrap returns a caching manager over inner, or nil when the cache is off.
func (c *cacheFlags) wrap(inner envelope.MaterialsManager) (*cache.Manager, error) {
	if c.maxAge == 0 {
		return nil, nil
	}
	store, err := cache.New(cache.CacheOptions{Capacity: c.capacity})
	if err != nil {
		return nil, err
	}
	return cache.NewManager(cache.ManagerOptions{
		Inner:       inner,
		Cache:       store,
		MaxAge:      c.maxAge,
		MaxMessages: c.maxMessages,
		MaxBytes:    c.maxBytes,
	})
}
