package codedeploy

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// APIError is an error in CodeDeploy's JSON 1.1 wire form: HTTP status, AWS's
// exception name in __type and a message.
type APIError struct {
	Status  int
	Type    string
	Message string
}

func (e *APIError) Error() string { return e.Type + ": " + e.Message }

func errf(status int, typ, format string, args ...any) *APIError {
	return &APIError{Status: status, Type: typ, Message: fmt.Sprintf(format, args...)}
}

// invalid is the common case: a 400 with AWS's exception name.
func invalid(typ, format string, args ...any) *APIError {
	return errf(http.StatusBadRequest, typ, format, args...)
}

func writeErr(w http.ResponseWriter, e *APIError) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", e.Type)
	w.WriteHeader(e.Status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": e.Type, "message": e.Message})
}
