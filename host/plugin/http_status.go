package plugin

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/tetratelabs/wazero/api"
)

// The http_handler functions on the response status.

// get_status_code() -> i32
var getStatusCode = newHostFunc("get_status_code", getStatusCodeFn,
	types(), types(i32))

func getStatusCodeFn(ctx context.Context, _ api.Module, stack []uint64) {
	st := requestState(ctx, "get_status_code")
	switch {
	case st.buf != nil:
		stack[0] = uint64(st.buf.statusCode())
	case st.sent != nil && st.sent.status != 0:
		stack[0] = uint64(st.sent.status)
	case st.status != 0:
		stack[0] = uint64(st.status)
	default:
		stack[0] = http.StatusOK
	}
}

// set_status_code(code i32)
var setStatusCode = newHostFunc("set_status_code", setStatusCodeFn,
	types(i32), types(), "code")

func setStatusCodeFn(ctx context.Context, _ api.Module, stack []uint64) {
	st := requestState(ctx, "set_status_code")
	code := int(int32(uint32(stack[0])))
	if code < 100 || code > 999 {
		panic(fmt.Errorf("set_status_code: invalid status %d", code))
	}
	switch {
	case st.buf != nil:
		st.buf.status = code
	case st.afterNext:
		panic(errors.New("set_status_code: after next only with buffer_response"))
	case !st.committed:
		st.status = code
	}
}
