// Package etcdfault holds the etcd fault and step types: killing, freezing and wiping members of
// the local lab, losing quorum, and the recovery runbook (restart, replace, snapshot, restore).
package etcdfault

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"syscall"

	"github.com/drillhq/drill/etcdlab"
	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

// Member selectors of etcd-kill-member.
const (
	SelectLeader   = "leader"
	SelectFollower = "follower"
	SelectAny      = "any"
)

var signals = map[string]syscall.Signal{
	"SIGKILL": syscall.SIGKILL,
	"SIGTERM": syscall.SIGTERM,
	"SIGSTOP": syscall.SIGSTOP,
}

// signalNames are the signal: values, in the order errors, the schema and editors show them.
func signalNames() []string { return []string{"SIGKILL", "SIGTERM", "SIGSTOP"} }

// signalEnums is the Enums (scenarios.Enumer) of both kill configs: one list, so the schema and
// validation cannot disagree.
func signalEnums() map[string][]string { return map[string][]string{"signal": signalNames()} }

func validateSignal(sig string, wipe bool) []error {
	var errs []error
	if _, ok := signals[sig]; !ok {
		errs = append(errs, scenarios.FieldErrorf("signal", "must be one of %s, got %q", strings.Join(signalNames(), ", "), sig))
	}
	if wipe && sig == "SIGSTOP" {
		errs = append(errs, scenarios.FieldErrorf("wipe", "cannot wipe a frozen (SIGSTOP) member: its process still holds the data"))
	}
	return errs
}

// pickMember resolves leader, follower, any or a member name to a running member. Random picks
// use math/rand: drills should not always hit m1.
func pickMember(ctx context.Context, lab *etcdlab.Lab, sel string) (string, error) {
	var running []string
	for _, n := range lab.Names() {
		if lab.Running(n) {
			running = append(running, n)
		}
	}
	switch sel {
	case SelectLeader, SelectFollower:
		leader, err := lab.Leader(ctx)
		if err != nil {
			return "", err
		}
		if sel == SelectLeader {
			return leader, nil
		}
		followers := slices.DeleteFunc(slices.Clone(running), func(n string) bool { return n == leader })
		if len(followers) == 0 {
			return "", errors.New("no running follower")
		}
		return followers[rand.IntN(len(followers))], nil
	case SelectAny:
		if len(running) == 0 {
			return "", errors.New("no running member")
		}
		return running[rand.IntN(len(running))], nil
	default:
		if _, ok := lab.Member(sel); !ok {
			return "", fmt.Errorf("no lab member %q (members: %s)", sel, strings.Join(lab.Names(), ", "))
		}
		if !lab.Running(sel) {
			return "", fmt.Errorf("member %s is %s, not running", sel, lab.ProcessState(sel))
		}
		return sel, nil
	}
}

// signalMembers freezes or kills (and optionally wipes) each member in turn, stopping at the
// first failure.
func signalMembers(ctx context.Context, lab *etcdlab.Lab, names []string, sig syscall.Signal, wipe bool) error {
	for _, n := range names {
		var err error
		if sig == syscall.SIGSTOP {
			err = lab.Freeze(ctx, n)
		} else {
			err = lab.Kill(ctx, n, sig)
			if err == nil && wipe {
				err = lab.Wipe(n)
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// revive brings members back after a fault: frozen ones are resumed and dead ones restarted
// (all in one go, so a majority can re-form quorum together); wiped ones rejoin as new members
// while a quorum remains, else the cluster is restored from the newest snapshot in the lab.
// Members already back (a recovery step did it) are left alone.
func revive(ctx context.Context, lab *etcdlab.Lab, names []string) error {
	var wiped, plain []string
	for _, n := range names {
		m, ok := lab.Member(n)
		switch {
		case !ok:
			return fmt.Errorf("no lab member %q", n)
		case m.Wiped:
			wiped = append(wiped, n)
		default:
			plain = append(plain, n)
		}
	}
	if len(wiped) > 0 && len(wiped) > (len(lab.Names())-1)/2 {
		// No quorum can form without wiped members: only a snapshot brings the cluster back.
		snap, err := etcdlab.LatestSnapshot(lab.SnapshotDir())
		if err != nil {
			return fmt.Errorf("members %v lost their data and no quorum is left: %w", wiped, err)
		}
		return lab.Restore(ctx, snap.Path)
	}
	if err := lab.Start(ctx, plain...); err != nil {
		return err
	}
	for _, n := range wiped {
		if _, err := lab.Replace(ctx, n); err != nil {
			return err
		}
	}
	return nil
}

// memberRef is the `member:` of the recovery steps: the name of a fault (meaning the members it
// chose) or of a lab member.
type memberRef struct {
	ref string
	env *runner.Env
	lab *etcdlab.Lab
}

func newMemberRef(ref string, env *runner.Env, lab *etcdlab.Lab) (memberRef, error) {
	if ref == "" {
		return memberRef{}, scenarios.FieldErrorf("member", "required: a fault name or a member name")
	}
	isFault := slices.ContainsFunc(env.Scenario.Faults, func(f scenarios.StepSpec) bool { return f.Name == ref })
	if _, isMember := lab.Member(ref); !isFault && !isMember {
		var faults []string
		for _, f := range env.Scenario.Faults {
			faults = append(faults, f.Name)
		}
		return memberRef{}, scenarios.FieldErrorf("member", "%q is neither a fault (%s) nor a lab member (%s)",
			ref, orNone(strings.Join(faults, ", ")), strings.Join(lab.Names(), ", "))
	}
	return memberRef{ref: ref, env: env, lab: lab}, nil
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// resolve returns the members the reference means now (after the fault was injected).
func (r memberRef) resolve() ([]string, error) {
	if targets, ok := r.env.FaultTargets(r.ref); ok {
		if len(targets) == 0 {
			return nil, fmt.Errorf("fault %s chose no member", r.ref)
		}
		return targets, nil
	}
	if _, ok := r.lab.Member(r.ref); ok {
		return []string{r.ref}, nil
	}
	return nil, fmt.Errorf("fault %s has not been injected", r.ref)
}
