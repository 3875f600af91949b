package mastra

import "strconv"

// Errno is a status code returned by the mastra host module. The numbers are WASI preview1 errno
// values. Compare with errors.Is, e.g. errors.Is(err, mastra.ENOENT).
type Errno uint32

// Status codes used by the mastra host module.
const (
	E2BIG     Errno = 1  // too large (a context value over the host's limit), or the plugin's KV quota is used up
	EBUSY     Errno = 10 // the run is not in a state for the call (e.g. a resume another resume won)
	ECANCELED Errno = 11 // the request was canceled (client gone)
	EINVAL    Errno = 28 // invalid argument (e.g. ctx_set with invalid JSON, unknown agent, a KV key that is not text)
	EIO       Errno = 29 // the host call failed (e.g. the model provider failed); see the message
	ENOENT    Errno = 44 // no such key, route parameter or value
	ENOSYS    Errno = 52 // not available here (e.g. route params in a middleware, or built for the host)
	EPERM     Errno = 63 // capability not granted in mastra.toml (agents, kv, context:write, ...)
	ETIMEDOUT Errno = 73 // the call hit its deadline
)

func (e Errno) describe() (name, text string) {
	switch e {
	case E2BIG:
		return "E2BIG", "value too large"
	case EBUSY:
		return "EBUSY", "busy (the run is not in a state for this call)"
	case ECANCELED:
		return "ECANCELED", "canceled"
	case EINVAL:
		return "EINVAL", "invalid argument"
	case EIO:
		return "EIO", "host call failed"
	case ENOENT:
		return "ENOENT", "not found"
	case ENOSYS:
		return "ENOSYS", "not supported"
	case EPERM:
		return "EPERM", "not permitted (capability not granted)"
	case ETIMEDOUT:
		return "ETIMEDOUT", "timed out"
	}
	n := strconv.FormatUint(uint64(e), 10)
	return "E" + n, "errno " + n
}

// Error implements error, e.g. "ENOENT: not found".
func (e Errno) Error() string {
	name, text := e.describe()
	return name + ": " + text
}

// Name is the symbolic name, e.g. "EPERM".
func (e Errno) Name() string {
	name, _ := e.describe()
	return name
}

// errnoOf turns a raw status into an error (nil for 0).
func errnoOf(status uint32) error {
	if status == 0 {
		return nil
	}
	return Errno(status)
}
