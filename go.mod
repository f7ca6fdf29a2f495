module github.com/go-esdk/esdk

go 1.24
