package awsemu_test

import (
	"testing"

	"github.com/knowmetools/km-release/testrig/awsemu/emutest"
)

func TestMain(m *testing.M) { emutest.Main(m) }
