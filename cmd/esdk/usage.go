package main

import "strings"

func commandUsage(cmd string) string {
	switch cmd {
	case cmdEncrypt:
		return encryptUsage
	case cmdDecrypt:
		return decryptUsage
	}
	return inspectUsage
}

const mainUsage = `esdk encrypts and decrypts files, directories and pipes in the AWS
Encryption SDK message format. Its messages decrypt with every AWS
Encryption SDK and aws-encryption-cli, and it decrypts theirs.

Usage:
  esdk encrypt -w KEY... [-c k=v...] [options] -o OUTPUT INPUT...
  esdk decrypt -w KEY... [-c k=v|k...] [options] -o OUTPUT INPUT...
  esdk inspect [-r] INPUT...
  esdk help [encrypt|decrypt|inspect|keys]
  esdk version

INPUT is a file, a directory (with -r), or - for standard input.
OUTPUT is a file, a directory (made if it ends with /), or - for standard
output.

Examples:
  head -c 32 /dev/urandom > backup.key
  esdk encrypt -w aes=backup.key,namespace=backups,name=2024 \
      -c purpose=backup -o db.dump.encrypted db.dump
  esdk decrypt -w aes=backup.key,namespace=backups,name=2024 \
      -c purpose=backup -o db.dump db.dump.encrypted
  pg_dump mydb | esdk encrypt -w kms=arn:aws:kms:us-east-1:111122223333:key/KEY-ID - > mydb.sql.encrypted
  esdk decrypt -r -w kms-discovery,account=111122223333 -o restored/ encrypted/
  esdk inspect db.dump.encrypted

Exit status: 0 when every input succeeded, 1 when an input failed (bad
input, a message that does not verify, no key that fits, an I/O error)
or was skipped, 2 when the command line is wrong, 128+N when signal N
stopped it (130 for Ctrl-C, SIGINT; 143 for SIGTERM; 129 for SIGHUP;
131 for SIGQUIT). On SIGHUP, SIGINT, SIGQUIT, SIGABRT, SIGTERM, SIGALRM,
SIGVTALRM and SIGXCPU esdk removes the temporary files of the outputs it
was writing before it exits; a signal ignored when it started (nohup's
SIGHUP) stays ignored.

Run "esdk help keys" for the --wrapping-key syntax.
`

const commonOptions = `  -w, --wrapping-key KEY       a wrapping key (repeatable); see "esdk help keys"
  -o, --output PATH            output file, directory (made when PATH ends with /),
                               or - for standard output (the default when the
                               input is -)
  -r, --recursive              process the files of directories, recursively;
                               symbolic links and special files are skipped
                               with a note, and a file whose name holds
                               .esdk-tmp- (the mark of esdk's temporary files)
                               is skipped with a message and status 1
      --suffix S               appended to each output name when the output is a
                               directory (default %s)
  -f, --force                  overwrite existing output files (regular files
                               only: a named pipe, a device or a socket is
                               never replaced nor written into; use -o - and
                               redirect standard output to write into one)
  -q, --quiet                  no progress bar
      --commitment-policy P    require-encrypt-require-decrypt (default),
                               require-encrypt-allow-decrypt, or
                               forbid-encrypt-allow-decrypt
      --max-encrypted-data-keys N
                               refuse messages with more than N encrypted data keys
                               (default 1000; at most 65535)
      --metadata-output FILE   append one JSON line per file (mode, input, output,
                               header) to FILE; - for standard output
      --cache-max-age D        cache data keys for D (such as 30s or 5m), so that
                               the files of one run share them: fewer calls to
                               AWS KMS or an HSM. Off by default. Limits:
      --cache-max-messages N   files (messages) one data key encrypts (no limit)
      --cache-max-bytes N      bytes one data key encrypts (no limit)
      --cache-capacity N       data keys held at most (default 100)
`

var encryptUsage = `Usage: esdk encrypt -w KEY... [options] -o OUTPUT INPUT...

Encrypts each INPUT into one message. With several keys, each of them can
decrypt the message; the first makes the data key (the generator).

Options:
` + "  -c, --encryption-context k=v an encryption context entry (repeatable): stored in\n" +
	"                               the message, authenticated, not secret\n" +
	`      --suite ID               algorithm suite: 0x0578 (default: key commitment,
                               ECDSA P-384 signature), 0x0478 (key commitment,
                               unsigned, faster), or any other suite id or name
                               such as AES_256_GCM_HKDF_SHA512_COMMIT_KEY; the
                               suites before 0x0478 need --commitment-policy
                               forbid-encrypt-allow-decrypt (--algorithm is the same)
      --frame-length N         plaintext bytes per frame (default 4096)
` + encryptCommon + `
Output files are written to a temporary file next to the target and renamed
when complete: an interrupted run leaves no partial output. Output files
are created with mode 0600. An output that exists and is not a regular
file is refused, with or without --force.

Examples:
  esdk encrypt -w aes=k.bin,namespace=app,name=k1 -c tenant=acme -o report.pdf.encrypted report.pdf
  esdk encrypt -r -w kms=alias/backups,region=eu-west-1 -o vault/ documents/
  esdk encrypt -r --cache-max-age 5m --cache-max-messages 1000 -w kms=KEY_ARN -o vault/ logs/
  tar c photos | esdk encrypt -w rsa=public.pem,namespace=app,name=rsa1 - > photos.tar.encrypted
`

var decryptUsage = `Usage: esdk decrypt -w KEY... [options] -o OUTPUT INPUT...

Decrypts each INPUT. Any one of the keys that wrapped the message's data
key decrypts it.

Options:
  -c, --encryption-context k=v|k
                               require the message's encryption context to hold
                               k with value v (k=v) or k with any value (k),
                               repeatable; the message is refused otherwise
      --decrypt-unsigned-only  refuse signed messages (suites 0x0214, 0x0346,
                               0x0378, 0x0578) before reading their body
` + decryptCommon + `
Safety: a decrypted file is written to a temporary file next to the target
(mode 0600) and renamed only after the whole message verified (frames,
and the signature of signed suites), so a failed or interrupted run never
leaves partial plaintext. Standard output cannot be taken back: there,
decrypted data is released frame by frame as each frame verifies (for
signed suites the last frame only after the signature verified), and a
failure part-way leaves the output incomplete: check the exit status
before using it. An output that exists and is not a regular file (a
named pipe, a device) is refused, with or without --force: it would be
replaced by a regular file of plaintext, or be given plaintext that a
later failure cannot take back; -o - with a redirection writes into it.

Examples:
  esdk decrypt -w aes=k.bin,namespace=app,name=k1 -c tenant=acme -o report.pdf report.pdf.encrypted
  esdk decrypt -r -w kms-discovery,account=111122223333 --suffix "" -o restored/ vault/
  esdk decrypt -w rsa=private.pem,namespace=app,name=rsa1 - < photos.tar.encrypted | tar x
`

const inspectUsage = `Usage: esdk inspect [-r] [--max-encrypted-data-keys N] INPUT...

Prints the header of each message as JSON, without decrypting it and
without any key: version, algorithm suite, message id, encryption context,
encrypted data keys (provider id; provider info as text when it is UTF-8,
else base64, with the key name of raw AES keys; ciphertext length), content
type and frame length.

Nothing in the header is authenticated until the message is decrypted:
anyone can write a header that says anything. Control and other
non-printable characters in it are printed as JSON \u escapes, and
esdk's error messages quote what they repeat of a header, as Go's
strconv.Quote does (\x1b, \n, \u202e), so that nothing in a message
reaches the terminal raw.

Example:
  esdk inspect backup.encrypted | jq .encryption_context
`

const keysUsage = `Wrapping keys (-w, --wrapping-key; repeatable)

A key is a kind and its value, then options, separated by commas:

  aes=FILE,namespace=NS,name=NAME
      A raw AES key: FILE holds 16, 24 or 32 random bytes
      (head -c 32 /dev/urandom > FILE; chmod 600 FILE). The namespace and name are stored in
      each message and must be the same to decrypt (they are the key's
      provider id and key name in the other Encryption SDKs).

  rsa=FILE.pem,namespace=NS,name=NAME[,padding=P]
      A raw RSA key in PEM: a public key encrypts, a private key decrypts; a
      file may hold both. P is oaep-sha256 (default), oaep-sha1, oaep-sha384,
      oaep-sha512 or pkcs1, and must be the same to decrypt.

  kms=KEY[,region=R][,mrk=true]
      An AWS KMS key: a key ARN, an alias ARN, alias/NAME or a key id (the
      last two in region R, or the AWS region of your configuration).
      Decrypting needs the key ARN. mrk=true also decrypts with this key
      what its multi-Region replicas encrypted. A bare key ARN
      (arn:aws:kms:...) is the same as kms=ARN.

  kms-discovery[,account=ID...][,partition=P][,region=R...][,mrk=true]
      Decrypt only: any AWS KMS key a message names, calling KMS in the key's
      region. account= (repeatable) limits it to keys of those accounts
      (partition P, default aws): give it; keys of other accounts are left
      out before any call. region= (repeatable) limits it to those regions;
      without region=, a message whose keys are in more than 5 regions is
      refused (the message names the regions, and anyone can write one
      that names them all): name the regions to call with region=.
      mrk=true (with region=) calls multi-Region keys in those regions.

  hierarchy=BRANCH_KEY_ID,table=TABLE,kms=KMS_KEY_ARN[,logical-name=N][,ttl=D]
      A branch key of the AWS KMS hierarchical keyring: the branch key store
      is the DynamoDB table TABLE (in the KMS key's region, or region=R),
      its branch keys protected by the KMS key KMS_KEY_ARN; N is the store's
      logical name (default: TABLE). Each run fetches a branch key version
      once (one DynamoDB GetItem, one KMS Decrypt) and keeps it for D
      (default 10m). The same three values decrypt; the message names the
      version. Branch keys are made with the keystore package's CreateKey.

  ecdh=FILE[,peer=PUBLIC_KEY_FILE]
      A raw ECDH key (P-256, P-384 or P-521): the data key is wrapped with a
      key that sender and recipient agree on with elliptic-curve
      Diffie-Hellman, so the recipient shares only its public key. What the
      files hold picks the schema:
        ecdh=RECIPIENT.pub.pem     encrypt only: a fresh key pair for each
                                   message, to the recipient's public key
        ecdh=MY.key                decrypt only: your private key, for
                                   messages to you from any sender
        ecdh=MY.key,peer=THEIR.pub.pem
                                   both: your key pair and the other party's
                                   public key; decrypts what either of you
                                   wrote to the other with these two keys
      A private key is PEM, PKCS #8 ("PRIVATE KEY", from openssl genpkey
      -algorithm EC -pkeyopt ec_paramgen_curve:P-256) or SEC 1 ("EC PRIVATE
      KEY"); a public key is PEM ("PUBLIC KEY", from openssl pkey -pubout)
      or DER (as aws kms get-public-key returns it, base64-decoded). The
      curve is the keys'; both must be on the same one.

  kms-ecdh=KEY[,peer=PUBLIC_KEY_FILE][,region=R]
      An ECDH key whose private key stays in AWS KMS (a key ARN or key id of
      key spec ECC_NIST_P256, P384 or P521 and key usage KEY_AGREEMENT):
        kms-ecdh=KEY,peer=THEIR.pub.pem
                                   both: the KMS key is yours, the peer's
                                   public key the other party's (a raw key
                                   pair's or another KMS key's)
        kms-ecdh=KEY               decrypt only: messages to the KMS key's
                                   public key from any sender
      Its public key, which senders encrypt to (ecdh=FILE), comes from
      aws kms get-public-key --key-id KEY.

  pkcs11=URI,namespace=NS,name=NAME[,padding=P]
  pkcs11=URI[,peer=PUBLIC_KEY_FILE]
      A key in a PKCS #11 token (an HSM), named by an RFC 7512 URI such as
      pkcs11:token=prod;object=esdk-key;type=secret-key?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/hsm-pin
      type=secret-key is an AES key (the wire format of aes=); type=private
      with namespace= and name= an RSA private key (of rsa=; the public key
      is read from the token), and without them an elliptic-curve private
      key (P-256, P-384 or P-521) for ECDH, with the wire format and the
      rules of ecdh=:
        pkcs11=URI,peer=THEIR.pub.pem
                                   both: the token's key is yours, the
                                   peer's public key the other party's;
                                   decrypts what either of you wrote to
                                   the other with these two keys
        pkcs11=URI                 decrypt only: messages to the token
                                   key's public key from any sender
      The curve is the token key's; peer= must be on it. Senders encrypt to
      the token key's public key with ecdh=FILE; OpenSC's pkcs11-tool
      --module MODULE --read-object --type pubkey --label LABEL -o FILE
      writes it (DER). The key must allow derivation (CKA_DERIVE): the
      shared secret of each data key is computed in the token, and the
      private key never leaves it.
      Needs an esdk built with cgo. The PIN is never printed: esdk shows
      pin-value= (in any case, percent-encoded or not) as (hidden), and
      hides it anywhere else it would repeat it. Write a comma in a PIN as
      %2C; prefer pin-source=FILE, which keeps it out of the process list.

aws-encryption-cli's key=KEY and discovery=true,discovery-account=ID,
discovery-partition=P are understood too (with commas between them).

Several keys: on encrypt the message can be decrypted with any of them and
the first one makes the data key; on decrypt each is tried in turn.

Key files: a file that holds a secret (an AES key file, an RSA PEM file
with a private key, an ECDH private key, a PIN file) should be readable by its owner only
(chmod 600). esdk warns on standard error when others can read or change
one, and goes on: unlike ssh it does not refuse, since refusing would
not undo the exposure and a key may be shared with a group on purpose.
esdk wipes the bytes it read of a key file once the key is parsed.

AWS KMS keys use the AWS SDK's default credential chain and configuration
(AWS_PROFILE, AWS_REGION, ~/.aws/config, ...). The KMS endpoint is the
SDK's: AWS_ENDPOINT_URL_KMS, else AWS_ENDPOINT_URL, else the config
file's. ESDK_KMS_ENDPOINT, esdk's own and meant for tests (a local KMS
emulator), wins over all of them when it is set.
ESDK_DYNAMODB_ENDPOINT does the same for the DynamoDB requests of
hierarchy keys.

A value may hold commas, except before a word and "=": ",word=" always
starts a new option (so a mistyped option is an error, not part of a value).
`

var (
	encryptCommon = strings.Replace(commonOptions, "%s", ".encrypted", 1)
	decryptCommon = strings.Replace(commonOptions, "%s", ".decrypted", 1)
)
