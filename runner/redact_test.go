package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/drillhq/drill/internal/redact"
	"github.com/drillhq/drill/result"
)

// leakyFault puts the secret everywhere a fault can: its targets, a timeline note, the log and
// the injection error.
type leakyFault struct {
	env    *Env
	secret string
}

func (f *leakyFault) Inject(ctx context.Context) (Injection, error) {
	f.env.Note("using credential %s", f.secret)
	f.env.Log.Debug("injecting", "token", f.secret, "err", errors.New("e "+f.secret))
	revert := func(context.Context) error { return errors.New("revert: token " + f.secret + " expired") }
	return Injection{Targets: []string{"host?token=" + f.secret}, Revert: revert},
		errors.New("command \"curl -H 'Bearer " + f.secret + "'\" exited 1: 401 for " + f.secret)
}

type recordingObserver struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (o *recordingObserver) Event(scenario string, e result.Event) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.buf.WriteString(scenario + " " + e.Message + "\n")
}

func (o *recordingObserver) Status(st Status) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.buf.WriteString(st.Scenario + " " + st.Phase + "\n")
}

func TestRunRedactsSecretsEverywhere(t *testing.T) {
	t.Parallel()
	const secret = "tok-5ecret-0123456789"
	synctest.Test(t, func(t *testing.T) {
		svc := &service{}
		reg := testRegistry(svc)
		reg.AddFault(FaultType{Name: "leaky", New: func(cfg any, env *Env) (Fault, error) {
			return &leakyFault{env: env, secret: secret}, nil
		}})
		s := testScenario(outageCfg{})
		s.Faults[0].Type = "leaky"
		s.Description = "uses " + secret
		s.Tags = []string{"tag-" + secret}
		s.Secrets = redact.New(secret)
		var logBuf bytes.Buffer
		log := slog.New(slog.NewTextHandler(&logBuf, &slog.HandlerOptions{Level: slog.LevelDebug}))
		obs := &recordingObserver{}
		res := Run(t.Context(), s, Options{Registry: reg, Log: log, Observer: obs})

		doc, err := json.Marshal(res)
		if err != nil {
			t.Fatal(err)
		}
		outputs := map[string]string{"result": string(doc), "log": logBuf.String(), "observer": obs.buf.String()}
		for name, out := range outputs {
			if strings.Contains(out, secret) {
				t.Errorf("%s contains the secret:\n%s", name, out)
			}
			if !strings.Contains(out, redact.Marker) {
				t.Errorf("%s lacks the redaction marker:\n%s", name, out)
			}
		}
		if !strings.Contains(res.Faults[0].Error, "exited 1: 401 for "+redact.Marker) ||
			res.Faults[0].Targets[0] != "host?token="+redact.Marker || res.Description != "uses "+redact.Marker {
			t.Errorf("fault not redacted in place: %+v, description %q", res.Faults[0], res.Description)
		}
		if res.Tags[0] != "tag-"+redact.Marker || s.Tags[0] != "tag-"+secret {
			t.Errorf("tags: result %q, scenario %q: want the result's redacted and the scenario's untouched", res.Tags, s.Tags)
		}
		if res.Schema != result.Schema || res.Verdict != result.VerdictError || res.RunID == "" {
			t.Errorf("identity fields changed: schema %q verdict %q runId %q", res.Schema, res.Verdict, res.RunID)
		}
	})
}
