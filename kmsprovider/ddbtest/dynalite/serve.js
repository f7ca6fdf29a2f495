'use strict'
// Serves dynalite, in memory, on a loopback port that the system chooses.
// Prints "listening PORT" once it accepts connections and exits when its
// standard input closes, so that it never outlives the test that started it.
// Tables are ACTIVE at once instead of after half a second.
const dynalite = require('dynalite')

const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 })
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening ${server.address().port}\n`)
})
process.stdin.on('end', () => process.exit(0))
process.stdin.resume()
