package engine

import "sync"

// maxPooled is the largest frame buffer kept for reuse: a sealer of a
// larger frame length allocates its own.
const maxPooled = 1 << 20

// frameBuffers holds the frame buffers of closed sealers, wiped. Reusing
// them saves a message the allocation and zeroing of a frame, which is
// most of what a small message allocates.
var frameBuffers sync.Pool

// getFrameBuffer returns a zeroed buffer of length n, boxed so that it
// goes back to the pool without an allocation.
func getFrameBuffer(n int) *[]byte {
	if b, ok := frameBuffers.Get().(*[]byte); ok && cap(*b) >= n {
		*b = (*b)[:n]
		return b
	}
	b := make([]byte, n)
	return &b
}

// putFrameBuffer keeps b for reuse; its bytes must be wiped and no longer
// used.
func putFrameBuffer(b *[]byte) {
	if cap(*b) <= maxPooled {
		frameBuffers.Put(b)
	}
}
