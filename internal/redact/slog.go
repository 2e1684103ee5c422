package redact

import (
	"context"
	"fmt"
	"log/slog"
)

// Handler wraps a slog.Handler so that no record it passes on can carry a secret: the message
// and every attribute (groups included) go through Secrets.Apply. Attribute values that are not
// strings (errors, byte slices, structs) are formatted first and logged as redacted strings,
// since their text is exactly what could hold a secret; numbers, durations, times and booleans
// cannot and are kept as they are.
type Handler struct {
	next    slog.Handler
	secrets *Secrets
}

// NewHandler returns next with redaction in front of it.
func NewHandler(next slog.Handler, s *Secrets) *Handler {
	return &Handler{next: next, secrets: s}
}

// Enabled implements slog.Handler.
func (h *Handler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

// Handle implements slog.Handler.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, h.secrets.Apply(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.attr(a))
		return true
	})
	if err := h.next.Handle(ctx, out); err != nil {
		return fmt.Errorf("redacting log handler: %w", err)
	}
	return nil
}

// WithAttrs implements slog.Handler.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	red := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		red[i] = h.attr(a)
	}
	return &Handler{next: h.next.WithAttrs(red), secrets: h.secrets}
}

// WithGroup implements slog.Handler. Group names are written by code, not taken from a
// scenario, so they pass unchanged.
func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{next: h.next.WithGroup(name), secrets: h.secrets}
}

func (h *Handler) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, h.secrets.Apply(v.String()))
	case slog.KindGroup:
		g := v.Group()
		red := make([]any, len(g))
		for i, c := range g {
			red[i] = h.attr(c)
		}
		return slog.Group(a.Key, red...)
	case slog.KindAny:
		switch x := v.Any().(type) {
		case nil:
			return a
		case []byte:
			return slog.String(a.Key, h.secrets.Apply(string(x)))
		case error:
			return slog.String(a.Key, h.secrets.Apply(x.Error()))
		default:
			return slog.String(a.Key, h.secrets.Apply(fmt.Sprintf("%+v", x)))
		}
	default:
		return slog.Attr{Key: a.Key, Value: v}
	}
}
