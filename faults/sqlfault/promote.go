package sqlfault

import (
	"context"
	"fmt"

	"github.com/drillhq/drill/pglab"
	"github.com/drillhq/drill/runner"
)

// PromoteType is the postgres-promote step (lab only): the failover runbook's promotion of the
// most advanced standby (highest replay LSN). The standby chosen, its replay LSN and the old
// primary's last known LSN go on the timeline as evidence of what the failover could lose.
func PromoteType() runner.StepType {
	// No `with:`: the lab knows which member is the primary and which standbys stream.
	return runner.NewStepType[struct{}]("postgres-promote",
		"Promote the most advanced standby (highest replay LSN) and record its LSN against the old primary's (lab only)",
		nil,
		func(_ *struct{}, env *runner.Env) (runner.Step, error) {
			lab, err := labFrom(env, "postgres-promote")
			if err != nil {
				return nil, err
			}
			return &promote{lab: lab, env: env}, nil
		})
}

type promote struct {
	lab *pglab.Lab
	env *runner.Env
}

func (s *promote) Run(ctx context.Context) error {
	res, err := s.lab.Promote(ctx)
	if err != nil {
		return fmt.Errorf("promote standby: %w", err)
	}
	primaryLSN := res.PrimaryLSN
	if primaryLSN == "" {
		primaryLSN = "unknown"
	}
	s.env.Note("promoted standby %s (replay LSN %s) in place of %s (last known LSN %s, %d bytes of WAL not replicated) in %v",
		res.Member, res.ReplayLSN, res.Previous, primaryLSN, res.Unreplicated, res.Took.Round(1e6))
	return nil
}
