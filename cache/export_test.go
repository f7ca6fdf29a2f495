package cache

// SetWaitHook makes every request that begins to wait for another
// request's call to the inner manager, under c, call f first. Tests use it
// to know, without sleeping, that their waiters wait.
func SetWaitHook(c *Cache, f func()) { c.waitHook = f }
