// Package ddbtest runs an in-process Amazon DynamoDB endpoint for tests.
//
// A [Server] is a [net/http/httptest] server on the loopback interface that
// speaks the DynamoDB wire protocol (AWS JSON 1.0: POST, X-Amz-Target
// DynamoDB_20120810.<Operation>, base64 binary values, typed JSON errors,
// the X-Amz-Crc32 header the SDK checks). The real aws-sdk-go-v2 DynamoDB
// client talks to it unchanged, so code under test runs its own DynamoDB
// calls, retries and error handling without AWS:
//
//	srv := ddbtest.NewServer()
//	defer srv.Close()
//	client := srv.Client("us-west-2", "111122223333")
//	client.CreateTable(ctx, &dynamodb.CreateTableInput{...})
//
// # Operations
//
// CreateTable, DescribeTable, DeleteTable, ListTables, GetItem, PutItem,
// DeleteItem, Query, Scan and TransactWriteItems (Put, Delete and
// ConditionCheck actions). Any other operation, UpdateItem among them,
// answers UnknownOperationException; an Update action in TransactWriteItems
// is a ValidationException. Secondary indexes, parallel scans and the legacy
// parameters that expressions replaced (Expected, ConditionalOperator,
// KeyConditions, QueryFilter, ScanFilter; AttributesToGet is supported) are
// refused with a ValidationException that says so, never ignored.
//
// # What it checks, as DynamoDB does
//
//   - Attribute values of every type (S, N, B, SS, NS, BS, M, L, BOOL, NULL):
//     exactly one type per value, numbers of up to 38 digits within DynamoDB's
//     range, returned in DynamoDB's canonical form ("1.5" for "001.50"), sets
//     non-empty and without duplicates, nesting at most 32 deep, items at most
//     400 KB, empty strings and binaries allowed except in keys.
//   - Key schemas: a Key must hold exactly the table's key attributes with
//     their types, an Item must hold them; keys are non-empty and at most
//     2,048 (partition) and 1,024 (sort) bytes. A table that does not exist
//     (in the request's region and account) is ResourceNotFoundException; a
//     TableName may be a table ARN.
//   - CreateTable: ResourceInUseException for a table that exists; the key
//     schema must match the attribute definitions exactly; PROVISIONED needs
//     ProvisionedThroughput and PAY_PER_REQUEST refuses it. The response says
//     CREATING, as DynamoDB's does; the table is ACTIVE at once.
//   - Expressions in DynamoDB's grammar: comparisons (=, <>, <, <=, >, >=),
//     BETWEEN, IN, attribute_exists, attribute_not_exists, attribute_type,
//     begins_with, contains, size, AND, OR, NOT, parentheses, document paths
//     (a.b[0]), expression attribute names (#n) and values (:v). DynamoDB's
//     573 reserved words (TYPE among them) and names with other characters
//     than letters, digits and underscores ("branch-key-id") must go through
//     #names; an undefined or unused #name or :value, redundant parentheses
//     and anything that does not parse is a ValidationException, never a
//     condition taken as true. A failed condition on PutItem or DeleteItem is
//     ConditionalCheckFailedException (with the item under
//     ReturnValuesOnConditionCheckFailure ALL_OLD).
//   - TransactWriteItems applies its 1 to 100 actions atomically or not at
//     all. When a condition fails the answer is TransactionCanceledException
//     with one cancellation reason per action in request order
//     ("ConditionalCheckFailed" or "None"); two actions on one item are a
//     ValidationException; ClientRequestToken makes a repeated request
//     succeed without applying it again (IdempotentParameterMismatchException
//     for another request with the token) for 10 minutes.
//   - Query takes an equality on the partition key and at most one sort key
//     condition (=, <, <=, >, >=, BETWEEN, begins_with), returns items in sort
//     key order (ScanIndexForward false reverses it), pages with Limit,
//     ExclusiveStartKey, LastEvaluatedKey and 1 MB pages, and refuses a
//     FilterExpression that reads a key attribute.
//
// Requests are served one at a time per server, so concurrent transactions
// on one item see each other's writes: one wins, the others are cancelled.
// Error types are DynamoDB's own, so callers match them as they would
// against AWS: errors.As with *types.ConditionalCheckFailedException,
// *types.TransactionCanceledException, *types.ResourceNotFoundException,
// *types.ResourceInUseException, *types.ProvisionedThroughputExceededException,
// *types.IdempotentParameterMismatchException, *types.InternalServerError;
// ValidationException is not modelled by the SDK and is matched by
// smithy.APIError's ErrorCode.
//
// # Faults and observation
//
// [Server.ThrottleNext] answers the next requests with
// ProvisionedThroughputExceededException (which the SDK retries),
// [Server.SetLatency] delays every request (one whose client gives up ends
// at once and changes nothing), and [Server.FailTable] makes every request
// that names a table answer an error type of the test's choosing.
// [Server.Calls] and [Server.Count] report every request served, throttled
// and failed ones included, with the tables it named and a cancelled
// transaction's reasons; [Server.ResetCalls] empties the log.
//
// # Limits
//
// There is no IAM: every caller may use every table of its region and
// account, and permission failures exist only when injected with
// [Server.FailTable]. Reads are always consistent. Capacity is not
// metered, so nothing is throttled unless a test asks for it. The package
// is checked against dynalite, a third-party DynamoDB (see the dynalite
// subpackage and the conformance test), and follows DynamoDB's documented
// behaviour where the two differ.
package ddbtest
