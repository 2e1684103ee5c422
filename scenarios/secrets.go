package scenarios

import (
	"strings"

	"github.com/drillhq/drill/internal/redact"
)

// isSecretValue decides whether a value taken from the environment is redacted from every
// output of the run. The environment is where credentials come from, but it also holds ports,
// counts and addresses, and redacting short common values would blank words all over the
// report without protecting anything. So:
//
//   - a variable whose name looks secret (TOKEN, SECRET, PASS(WORD), KEY, CREDENTIAL, AUTH,
//     DSN, PRIVATE, COOKIE, SESSION, any case) is redacted when its value has at least 4
//     characters, whatever they are (a numeric PIN too), except the few words that switch a
//     setting (true, false, none, null, http, https: ${AUTH_ENABLED}, ${AUTH_SCHEME}), which
//     would otherwise be blanked in every URL and message; 1-3 characters would match inside
//     ordinary words and are no secret worth the name;
//   - any other variable is redacted when its value has at least 8 characters and is not a
//     plain number or numeric address (digits, '.', ':', '[', ']': ports, sizes, IPv4
//     addresses with ports), because a token in ${API} or a webhook URL in ${SLACK_HOOK} must
//     not leak because of its name. Host names and paths of 8 characters or more are redacted
//     too: a drill's output showing "[REDACTED]" for an endpoint is a nuisance, a leaked token
//     is an incident.
//
// Defaults (${VAR:-default}) are never secret: they are written in the scenario file, which is
// committed and whose digest is in the evidence.
func isSecretValue(name, value string) bool {
	if secretName(name) {
		return len(value) >= 4 && !settingWord(value)
	}
	return len(value) >= 8 && strings.Trim(value, "0123456789.:[]") != ""
}

// secretName reports whether a variable's name says it holds a credential. PWD is left out on
// purpose: it is the shell's working directory, not a password.
func secretName(name string) bool {
	upper := strings.ToUpper(name)
	for _, p := range [...]string{"TOKEN", "SECRET", "PASS", "KEY", "CREDENTIAL", "AUTH", "DSN", "PRIVATE", "COOKIE", "SESSION"} {
		if strings.Contains(upper, p) {
			return true
		}
	}
	return false
}

// settingWord reports values of secret-looking variables that configure rather than
// authenticate.
func settingWord(v string) bool {
	switch strings.ToLower(v) {
	case "true", "false", "none", "null", "http", "https":
		return true
	}
	return false
}

// recordEnv wraps lookup so that every value it returns that isSecretValue accepts is
// remembered as a secret of the scenario.
func (p *parser) recordEnv(lookup func(string) (string, bool)) func(string) (string, bool) {
	p.rawLookupEnv = lookup
	public := publicVars(lookup)
	return func(name string) (string, bool) {
		v, ok := lookup(name)
		if ok && isSecretValue(name, v) && (!public[name] || secretName(name)) {
			p.secrets = append(p.secrets, v)
		}
		return v, ok
	}
}

// EnvPublicVars names the variables (comma or space separated) whose values may be printed even
// though isSecretValue would redact them: ids and endpoints that are evidence (a DRS source
// server, an SNS topic) rather than credentials. A name that looks secret cannot be listed away.
const EnvPublicVars = "DRILL_PUBLIC_VARS"

func publicVars(lookup func(string) (string, bool)) map[string]bool {
	v, _ := lookup(EnvPublicVars)
	names := map[string]bool{}
	for _, n := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		names[n] = true
	}
	return names
}

// recordShellRefs records the values of secret-looking variables that a value leaves for the
// shell to expand: in `run: curl -H "Authorization: Bearer $TOKEN"` drill never sees the token,
// yet the command's stderr can print it. Only names that look secret count (not $HOME, $PWD or
// a script's own variables), and only variables the environment really has.
func (p *parser) recordShellRefs(v string) {
	for i := 0; i < len(v); i++ {
		if v[i] != '$' || i+1 == len(v) {
			continue
		}
		start := i + 1
		if v[start] == '{' {
			start++
		}
		end := start
		for end < len(v) && (v[end] == '_' || 'A' <= v[end] && v[end] <= 'Z' || 'a' <= v[end] && v[end] <= 'z' || end > start && '0' <= v[end] && v[end] <= '9') {
			end++
		}
		if end == start {
			continue
		}
		name := v[start:end]
		if val, ok := p.rawLookupEnv(name); ok && secretName(name) && isSecretValue(name, val) {
			p.secrets = append(p.secrets, val)
		}
		i = end - 1
	}
}

// redactErrors keeps secrets out of load errors: a validator may quote the expanded value it
// rejects (an invalid URL with a token in it).
func redactErrors(errs Errors, s *redact.Secrets) Errors {
	for i := range errs {
		errs[i].Msg = s.Apply(errs[i].Msg)
		errs[i].Path = s.Apply(errs[i].Path)
	}
	return errs
}
