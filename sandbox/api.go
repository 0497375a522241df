package sandbox

import "slices"

// API is one host function extension code can call. Every call crosses the
// trust boundary as a request frame and is checked in the parent against
// Scope before anything happens.
type API struct {
	Name   string // as JS calls it: "module.function"
	Module string // the require() name that carries it
	Scope  string // the scope it needs; "" for none
	Doc    string // one sentence for the author docs
	// TypeScript signature pieces for the generated declarations.
	Params  string
	Returns string
}

// APIs is the one table that maps every host API to its scope. The parent
// checks calls against it, the author docs and TypeScript declarations are
// generated from it, and a test calls every entry without its scope.
var APIs = []API{
	{
		Name: "message.reply", Module: "message", Scope: "messages_write",
		Doc:     "Replies to the message that triggered this run, in its channel.",
		Params:  "payload: string | MessagePayload",
		Returns: "Promise<Result>",
	},
}

// LookupAPI returns the table entry for name.
func LookupAPI(name string) (API, bool) {
	i := slices.IndexFunc(APIs, func(a API) bool { return a.Name == name })
	if i < 0 {
		return API{}, false
	}
	return APIs[i], true
}

// moduleAPIs returns the entries of module in table order.
func moduleAPIs(module string) []API {
	var out []API
	for _, a := range APIs {
		if a.Module == module {
			out = append(out, a)
		}
	}
	return out
}

// LegacyModules are the require() names of SKYEXT.md part B 2.7. A name
// outside this list is "Unknown module"; a listed name that the current
// trigger does not provide is UNKNOWN_MODULE.
var LegacyModules = []string{
	"command", "keyword", "message", "user", "author", "member", "channel",
	"guild", "roles", "config", "bot", "moment", "utils", "embed", "extension",
	"points", "economy", "http", "interaction", "event",
}
