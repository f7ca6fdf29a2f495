// Package ddbtest runs an in-process Amazon DynamoDB endpoint for tests.
package ddbtest
