package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/go-esdk/esdk/format"
	"github.com/go-esdk/esdk/keyring"
	"github.com/go-esdk/esdk/kmsprovider"
)

// kmsEndpointEnv points every KMS client at another endpoint: a testing
// aid, for a local KMS such as kmsprovider/kmstest. Without it, the AWS
// SDK's own settings apply, in the SDK's order: AWS_ENDPOINT_URL_KMS, then
// AWS_ENDPOINT_URL, then the shared config file's; with it, it wins over
// them all, since it is esdk's own and names KMS alone.
const kmsEndpointEnv = "ESDK_KMS_ENDPOINT"

// maxDiscoveryRegions is the most AWS regions that a kms-discovery key
// without region= calls for one message. The regions come from the
// message, which anyone can write: without a bound, a message naming a
// key in every region would make esdk call each.
const maxDiscoveryRegions = 5

// keySpec is one parsed --wrapping-key.
type keySpec struct {
	text  string // as given, for error messages
	kind  string // aes, rsa, ecdh, kms, kms-discovery, kms-ecdh, hierarchy, pkcs11
	value string
	opts  map[string][]string
}

var keyKinds = []string{"aes", "rsa", "kms", "kms-discovery", "hierarchy", "pkcs11",
	"ecdh", "kms-ecdh",
}

// keyOptions are the options each kind of key takes; required ones first
// in reqOptions.
var keyOptions = map[string][]string{
	"aes":           {"namespace", "name"},
	"rsa":           {"namespace", "name", "padding"},
	"kms":           {"region", "mrk"},
	"kms-discovery": {"account", "partition", "region", "mrk"},
	"hierarchy":     {"table", "kms", "logical-name", "ttl", "region"},
	"pkcs11":        {"namespace", "name", "padding", "peer"},
	"ecdh":          {"peer"},
	"kms-ecdh":      {"peer", "region"},
}

var reqOptions = map[string][]string{
	"aes": {"namespace", "name"},
	"rsa": {"namespace", "name"},
}

// cliAliases are aws-encryption-cli's names of discovery options.
var cliAliases = map[string]string{"discovery-account": "account", "discovery-partition": "partition"}

// repeatable options may be given more than once.
var repeatable = map[string]bool{"account": true, "region": true}

// splitKeySpec splits s at the commas that start a new "option=": a
// comma followed by a word of letters, digits and dashes and "=". Values
// such as file names may hold other commas.
func splitKeySpec(s string) []string {
	var parts []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == ',' && startsOption(s[i+1:]) {
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}

func startsOption(s string) bool {
	name, _, ok := strings.Cut(s, "=")
	if !ok || name == "" {
		return false
	}
	for i, c := range name {
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !letter && (i == 0 || c != '-' && (c < '0' || c > '9')) {
			return false
		}
	}
	return true
}

// parseKeySpec parses one --wrapping-key value. See keysUsage.
func parseKeySpec(s string) (*keySpec, error) {
	shown, _ := redactSpec(s)
	bad := func(format string, args ...any) error {
		return usagef("--wrapping-key %q: %s (see \"esdk help keys\")", shown, fmt.Sprintf(format, args...))
	}
	parts := splitKeySpec(s)
	k := &keySpec{text: shown, opts: map[string][]string{}}
	kind, value, hasValue := strings.Cut(parts[0], "=")
	switch {
	case len(parts[0]) >= 7 && strings.EqualFold(parts[0][:7], "pkcs11:"):
		// A bare RFC 7512 URI.
		kind, value, hasValue = "pkcs11", parts[0], true
	case strings.HasPrefix(parts[0], "arn:aws"):
		// A bare KMS key ARN.
		kind, value, hasValue = "kms", parts[0], true
	case kind == "key":
		// aws-encryption-cli's key=KEY.
		kind = "kms"
	case kind == "discovery" && value == "true":
		// aws-encryption-cli's discovery=true.
		kind = "kms-discovery"
	}
	if !slices.Contains(keyKinds, kind) {
		return nil, bad("it must start with aes=FILE, rsa=FILE, ecdh=FILE, kms=KEY, kms-discovery, kms-ecdh=KEY, hierarchy=BRANCH_KEY_ID or pkcs11=URI")
	}
	k.kind = kind
	switch {
	case kind == "kms-discovery":
		if hasValue && value != "true" {
			return nil, bad("kms-discovery takes no value; give accounts with account=ID")
		}
	case !hasValue || value == "":
		return nil, bad("%s= needs a value", kind)
	default:
		k.value = value
	}
	for _, p := range parts[1:] {
		name, v, ok := strings.Cut(p, "=")
		if a, isAlias := cliAliases[name]; isAlias && kind == "kms-discovery" {
			name = a
		}
		if (!ok || !slices.Contains(keyOptions[kind], name)) && kind == "pkcs11" {
			// Not repeated: it may be the end of a PIN that holds ",word=".
			return nil, bad("an option after the URI is not one of pkcs11 keys; they take %s (a comma in a PIN is written %%2C)", strings.Join(keyOptions[kind], ", "))
		}
		if !ok || !slices.Contains(keyOptions[kind], name) {
			return nil, bad("%q is not an option of %s keys; they take %s", p, kind, strings.Join(keyOptions[kind], ", "))
		}
		if v == "" {
			return nil, bad("%s= needs a value", name)
		}
		if len(k.opts[name]) > 0 && !repeatable[name] {
			return nil, bad("%s= given twice", name)
		}
		k.opts[name] = append(k.opts[name], v)
	}
	for _, name := range reqOptions[kind] {
		if len(k.opts[name]) == 0 {
			return nil, bad("%s keys need namespace= and name=: the key's provider id and name, stored in each message; decrypting needs the same two", kind)
		}
	}
	if m := k.opt("mrk"); m != "" && m != "true" && m != "false" {
		return nil, bad("mrk= is true or false")
	}
	if k.opt("mrk") == "true" && kind == "kms-discovery" && len(k.opts["region"]) == 0 {
		return nil, bad("mrk=true needs region=: the regions whose replicas of multi-Region keys to call")
	}
	if k.opt("partition") != "" && len(k.opts["account"]) == 0 {
		return nil, bad("partition= filters by account: give account= too")
	}
	switch kind {
	case "hierarchy":
		if err := checkHierarchySpec(k); err != nil {
			return nil, err
		}
	case "pkcs11":
		if err := checkPKCS11Spec(k); err != nil {
			return nil, err
		}
	}
	return k, nil
}

func (k *keySpec) opt(name string) string {
	if v := k.opts[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func (k *keySpec) padding() (keyring.RSAPadding, error) {
	p := k.opt("padding")
	if p == "" {
		return keyring.OAEPSHA256, nil
	}
	for _, c := range []keyring.RSAPadding{keyring.PKCS1, keyring.OAEPSHA1, keyring.OAEPSHA256, keyring.OAEPSHA384, keyring.OAEPSHA512} {
		if strings.EqualFold(p, c.String()) || strings.EqualFold(p, strings.ReplaceAll(c.String(), "-", "")) {
			return c, nil
		}
	}
	return 0, usagef("--wrapping-key %q: padding=%s: want oaep-sha256 (the default), oaep-sha1, oaep-sha384, oaep-sha512 or pkcs1", k.text, p)
}

// keys builds the keyrings of the --wrapping-key flags.
type keys struct {
	specs   []*keySpec
	kms     kmsClients
	closers []io.Closer
	warn    io.Writer // for warnings: standard error
	// read reads a key file (readKeyFile); the caller wipes what it
	// returns once parsed.
	read func(path string) ([]byte, fs.FileInfo, error)
}

// parseKeys checks the syntax of every --wrapping-key; encrypting needs
// keys that can encrypt.
func parseKeys(list []string, cmd string) (*keys, error) {
	if len(list) == 0 {
		return nil, usagef("%s needs at least one --wrapping-key (see \"esdk help keys\")", cmd)
	}
	ks := &keys{warn: io.Discard, read: readKeyFile}
	for _, s := range list {
		k, err := parseKeySpec(s)
		if err != nil {
			return nil, err
		}
		if k.kind == "kms-discovery" && cmd == cmdEncrypt {
			return nil, usagef("--wrapping-key %q: a KMS discovery key only decrypts; encrypt with kms=KEY_ARN", k.text)
		}
		if k.kind == "rsa" || k.kind == "pkcs11" {
			if _, err := k.padding(); err != nil {
				return nil, err
			}
		}
		if err := checkECDHSpec(k, cmd); err != nil {
			return nil, err
		}
		ks.specs = append(ks.specs, k)
	}
	return ks, nil
}

// keyring returns the keyring of all keys: one key's own keyring, or a
// multi-keyring whose generator is the first key.
func (ks *keys) keyring(ctx context.Context, cmd string) (keyring.Keyring, error) {
	var krs []keyring.Keyring
	for _, k := range ks.specs {
		kr, err := ks.build(ctx, k, cmd)
		if err != nil {
			return nil, fmt.Errorf("--wrapping-key %q: %w", k.text, err)
		}
		krs = append(krs, kr)
	}
	if len(krs) == 1 {
		return krs[0], nil
	}
	return keyring.NewMulti(keyring.MultiOptions{Generator: krs[0], Children: krs[1:]})
}

// Close releases keys that hold resources (PKCS #11 sessions).
func (ks *keys) Close() error {
	var errs []error
	for _, c := range ks.closers {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

func (ks *keys) build(ctx context.Context, k *keySpec, cmd string) (keyring.Keyring, error) {
	switch k.kind {
	case "aes":
		key, fi, err := ks.read(k.value)
		if err != nil {
			return nil, fmt.Errorf("reading the AES key: %w", err)
		}
		warnExposed(ks.warn, "AES key file", k.value, fi)
		kr, err := keyring.NewRawAES(keyring.RawAESOptions{
			Namespace:   k.opt("namespace"),
			Name:        k.opt("name"),
			WrappingKey: key,
		})
		clear(key)
		if err != nil {
			return nil, fmt.Errorf("%s: %w (an AES key file holds 16, 24 or 32 random bytes, e.g. head -c 32 /dev/urandom > key)", k.value, err)
		}
		return kr, nil
	case "rsa":
		pemData, fi, err := ks.read(k.value)
		if err != nil {
			return nil, fmt.Errorf("reading the RSA key: %w", err)
		}
		padding, _ := k.padding()
		pub, priv, err := keyring.ParseRSAKeysPEM(pemData)
		clear(pemData)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k.value, err)
		}
		if priv != nil {
			warnExposed(ks.warn, "RSA private key file", k.value, fi)
		}
		kr, err := keyring.NewRawRSA(keyring.RawRSAOptions{
			Namespace:  k.opt("namespace"),
			Name:       k.opt("name"),
			Padding:    padding,
			PublicKey:  pub,
			PrivateKey: priv,
		})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k.value, err)
		}
		return rsaKeyring{kr, k.value}, nil
	case "kms":
		clients, err := ks.kms.supplier(ctx, k.opt("region"))
		if err != nil {
			return nil, err
		}
		c, err := clients.Client(arnRegion(k.value))
		if err != nil {
			return nil, err
		}
		if k.opt("mrk") == "true" {
			return kmsprovider.NewMRKKeyring(kmsprovider.KeyringOptions{Client: c, KeyID: k.value})
		}
		return kmsprovider.NewKeyring(kmsprovider.KeyringOptions{Client: c, KeyID: k.value})
	case "kms-discovery":
		clients, err := ks.kms.supplier(ctx, "")
		if err != nil {
			return nil, err
		}
		var filter *kmsprovider.DiscoveryFilter
		if accounts := k.opts["account"]; len(accounts) > 0 {
			filter = &kmsprovider.DiscoveryFilter{Partition: k.opt("partition"), AccountIDs: accounts}
			if filter.Partition == "" {
				filter.Partition = "aws"
			}
		}
		if k.opt("mrk") == "true" {
			return kmsprovider.NewMRKDiscoveryMultiKeyring(kmsprovider.DiscoveryMultiKeyringOptions{Clients: clients, Regions: k.opts["region"], Filter: filter})
		}
		return &regionalDiscovery{clients: clients, filter: filter, regions: k.opts["region"]}, nil
	case "hierarchy":
		return ks.hierarchyKeyring(ctx, k)
	case "ecdh", "kms-ecdh":
		return ks.buildECDH(ctx, k, cmd)
	case "pkcs11":
		return ks.buildPKCS11(k, cmd)
	}
	return nil, fmt.Errorf("unknown key kind %q", k.kind)
}

// rsaKeyring says what to do when a PEM file lacks the key an operation
// needs.
type rsaKeyring struct {
	*keyring.RawRSA
	file string
}

func (k rsaKeyring) OnEncrypt(ctx context.Context, m *keyring.EncryptionMaterials) error {
	err := k.RawRSA.OnEncrypt(ctx, m)
	if errors.Is(err, keyring.ErrDecryptOnly) {
		return fmt.Errorf("%w: %s holds a private key only; encrypting needs the public key: add it to the file (openssl rsa -in %s -pubout >> %s) or pass the public key file", err, k.file, k.file, k.file)
	}
	return err
}

func (k rsaKeyring) OnDecrypt(ctx context.Context, m *keyring.DecryptionMaterials, edks []format.EncryptedDataKey) error {
	err := k.RawRSA.OnDecrypt(ctx, m, edks)
	if errors.Is(err, keyring.ErrEncryptOnly) {
		return fmt.Errorf("%w: %s holds a public key only; decrypting needs the private key", err, k.file)
	}
	return err
}

// arnRegion returns the region of a KMS ARN, or "" for an alias or key id.
func arnRegion(id string) string {
	parts := strings.SplitN(id, ":", 6)
	if len(parts) == 6 && parts[0] == "arn" {
		return parts[3]
	}
	return ""
}

// kmsClients loads the AWS configuration (default credential chain and
// region) once, when a KMS key is first used.
type kmsClients struct {
	once sync.Once
	cfg  aws.Config
	rc   *kmsprovider.RegionalClients
	err  error
}

func (c *kmsClients) supplier(ctx context.Context, defaultRegion string) (kmsprovider.ClientSupplier, error) {
	c.once.Do(func() {
		cfg, err := config.LoadDefaultConfig(ctx)
		if err != nil {
			c.err = fmt.Errorf("loading the AWS configuration: %w", err)
			return
		}
		// Set on each client, after the SDK resolved its endpoint (where
		// AWS_ENDPOINT_URL_KMS would win over cfg.BaseEndpoint).
		var optFns []func(*kms.Options)
		if ep := os.Getenv(kmsEndpointEnv); ep != "" {
			optFns = append(optFns, func(o *kms.Options) { o.BaseEndpoint = aws.String(ep) })
		}
		c.cfg = cfg
		c.rc = kmsprovider.NewRegionalClients(cfg, optFns...)
	})
	if c.err != nil {
		return nil, c.err
	}
	if defaultRegion == "" {
		return c.rc, nil
	}
	return kmsprovider.ClientSupplierFunc(func(region string) (kmsprovider.Client, error) {
		if region == "" {
			region = defaultRegion
		}
		return c.rc.Client(region)
	}), nil
}

// regionalDiscovery is a KMS discovery keyring that calls each key in the
// region its ARN names, as aws-encryption-cli's discovery does, limited to
// some regions when regions is not empty: for each message it makes a
// discovery keyring for the regions of the message's KMS keys.
//
// The regions come from the message, unauthenticated until a key has
// decrypted. So before it makes any client, it drops the keys that the
// filter (account=, partition=) or region= rules out, and without
// region= it calls at most maxDiscoveryRegions regions for a message.
type regionalDiscovery struct {
	clients kmsprovider.ClientSupplier
	filter  *kmsprovider.DiscoveryFilter
	regions []string
}

func (k *regionalDiscovery) OnEncrypt(context.Context, *keyring.EncryptionMaterials) error {
	return fmt.Errorf("%w: a KMS discovery key has no key to encrypt with", keyring.ErrDecryptOnly)
}

func (k *regionalDiscovery) OnDecrypt(ctx context.Context, m *keyring.DecryptionMaterials, edks []format.EncryptedDataKey) error {
	var regions []string
	var skipped []error
	skip := func(i int, info []byte, why string, args ...any) {
		skipped = append(skipped, fmt.Errorf("encrypted data key %d (%q): skipped, %s", i, info, fmt.Sprintf(why, args...)))
	}
	for i, e := range edks {
		if e.ProviderID != kmsprovider.ProviderID {
			continue
		}
		a, ok := parseKeyARN(string(e.ProviderInfo))
		switch {
		case !ok:
			skip(i, e.ProviderInfo, "it is not an AWS KMS key ARN")
		case k.filter != nil && a.partition != k.filter.Partition:
			skip(i, e.ProviderInfo, "its partition %q is not the discovery filter's %s", a.partition, k.filter.Partition)
		case k.filter != nil && !slices.Contains(k.filter.AccountIDs, a.account):
			skip(i, e.ProviderInfo, "its account %q is not in the discovery filter's accounts %s", a.account, strings.Join(k.filter.AccountIDs, ", "))
		case len(k.regions) > 0 && !slices.Contains(k.regions, a.region):
			skip(i, e.ProviderInfo, "its region %q is not in region=%s", a.region, strings.Join(k.regions, ","))
		case !slices.Contains(regions, a.region):
			regions = append(regions, a.region)
		}
	}
	if len(regions) == 0 {
		if len(skipped) == 0 {
			skipped = append(skipped, errors.New("the message has no AWS KMS encrypted data key"))
		}
		return &keyring.NoMatchingKeyError{Keyring: "AWS KMS discovery", Causes: skipped}
	}
	if len(k.regions) == 0 && len(regions) > maxDiscoveryRegions {
		quoted := make([]string, len(regions))
		for i, r := range regions {
			quoted[i] = strconv.Quote(r)
		}
		return fmt.Errorf("the message's AWS KMS keys are in %d regions (%s); kms-discovery calls at most %d for a message: name the regions to call with region=", len(regions), strings.Join(quoted, ", "), maxDiscoveryRegions)
	}
	// One discovery keyring per region, each given its region's keys only.
	krs := make([]keyring.Keyring, len(regions))
	for i, r := range regions {
		c, err := k.clients.Client(r)
		if err != nil {
			return err
		}
		kr, err := kmsprovider.NewDiscoveryKeyring(kmsprovider.DiscoveryKeyringOptions{Client: c, Filter: k.filter})
		if err != nil {
			return err
		}
		krs[i] = inRegion{kr, r}
	}
	multi, err := keyring.NewMulti(keyring.MultiOptions{Generator: krs[0], Children: krs[1:]})
	if err != nil {
		return err
	}
	return multi.OnDecrypt(ctx, m, edks)
}

// keyARN is what discovery reads of a KMS key ARN.
type keyARN struct{ partition, region, account string }

// parseKeyARN reads arn:PARTITION:kms:REGION:ACCOUNT:key/ID, each part
// of the letters, digits and dashes that real ones have: the region
// becomes part of a host name.
func parseKeyARN(s string) (keyARN, bool) {
	p := strings.SplitN(s, ":", 6)
	if len(p) != 6 || p[0] != "arn" || p[2] != "kms" {
		return keyARN{}, false
	}
	id, ok := strings.CutPrefix(p[5], "key/")
	if !ok || !word(p[1], false) || !word(p[3], false) || !word(p[4], false) || !word(id, true) {
		return keyARN{}, false
	}
	return keyARN{partition: p[1], region: p[3], account: p[4]}, true
}

// word reports whether s is 1 to 64 lower-case letters (any case with
// upper), digits and dashes, with a letter or digit at each end.
func word(s string, upper bool) bool {
	if s == "" || len(s) > 64 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || upper && c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// inRegion gives a keyring the AWS KMS encrypted data keys of one region.
type inRegion struct {
	*kmsprovider.DiscoveryKeyring
	region string
}

func (k inRegion) OnDecrypt(ctx context.Context, m *keyring.DecryptionMaterials, edks []format.EncryptedDataKey) error {
	var mine []format.EncryptedDataKey
	for _, e := range edks {
		if e.ProviderID == kmsprovider.ProviderID && arnRegion(string(e.ProviderInfo)) == k.region {
			mine = append(mine, e)
		}
	}
	return k.DiscoveryKeyring.OnDecrypt(ctx, m, mine)
}
