package ddbtest_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/go-esdk/esdk/kmsprovider/ddbtest"
)

// Write an item only if it is new, and two items in one transaction, with
// the real aws-sdk-go-v2 DynamoDB client against an in-process DynamoDB, as
// a test of your own code would: start the server, take a client (or an
// aws.Config) for a region and account, create the table the test needs,
// then run the code under test and look at the calls it made.
func Example() {
	srv := ddbtest.NewServer()
	defer srv.Close()
	ctx := context.Background()

	// A *dynamodb.Client for us-west-2 in account 111122223333. srv.Config
	// returns the aws.Config behind it, for code that builds its own.
	client := srv.Client("us-west-2", "111122223333")

	_, err := client.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName: aws.String("keys"),
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String("kind"), KeyType: types.KeyTypeRange},
		},
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String("id"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String("kind"), AttributeType: types.ScalarAttributeTypeS},
		},
		BillingMode: types.BillingModePayPerRequest,
	})
	if err != nil {
		log.Fatal(err)
	}
	srv.ResetCalls() // assert on the code under test only

	// The code under test: create an item only if none has its key.
	putNew := func(kind string) error {
		_, err := client.PutItem(ctx, &dynamodb.PutItemInput{
			TableName: aws.String("keys"),
			Item: map[string]types.AttributeValue{
				"id":   &types.AttributeValueMemberS{Value: "k1"},
				"kind": &types.AttributeValueMemberS{Value: kind},
				"enc":  &types.AttributeValueMemberB{Value: []byte{1, 2, 3}},
			},
			ConditionExpression: aws.String("attribute_not_exists(id)"),
		})
		return err
	}
	fmt.Println("first write:", putNew("active"))
	var ccf *types.ConditionalCheckFailedException
	fmt.Println("second write refused:", errors.As(putNew("active"), &ccf))

	srv.ThrottleNext(1) // the SDK's retryer absorbs a throttle
	_, err = client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{
		TransactItems: []types.TransactWriteItem{
			{Put: &types.Put{TableName: aws.String("keys"), Item: map[string]types.AttributeValue{
				"id": &types.AttributeValueMemberS{Value: "k1"}, "kind": &types.AttributeValueMemberS{Value: "version:2"},
			}, ConditionExpression: aws.String("attribute_not_exists(id)")}},
			{ConditionCheck: &types.ConditionCheck{TableName: aws.String("keys"), Key: map[string]types.AttributeValue{
				"id": &types.AttributeValueMemberS{Value: "k1"}, "kind": &types.AttributeValueMemberS{Value: "active"},
			}, ConditionExpression: aws.String("enc = :old"), ExpressionAttributeValues: map[string]types.AttributeValue{
				":old": &types.AttributeValueMemberB{Value: []byte{9}},
			}}},
		},
	})
	var tce *types.TransactionCanceledException
	if errors.As(err, &tce) {
		for i, r := range tce.CancellationReasons {
			fmt.Printf("action %d: %s\n", i, *r.Code)
		}
	}

	for _, c := range srv.Calls() {
		result := c.Error
		if result == "" {
			result = "ok"
		}
		fmt.Println(c.Operation, c.Table, result)
	}
	// Output:
	// first write: <nil>
	// second write refused: true
	// action 0: None
	// action 1: ConditionalCheckFailed
	// PutItem keys ok
	// PutItem keys ConditionalCheckFailedException
	// TransactWriteItems keys ProvisionedThroughputExceededException
	// TransactWriteItems keys TransactionCanceledException
}
