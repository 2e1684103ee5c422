package awsprobe

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/drillhq/drill/backends/awsenv"
	"github.com/drillhq/drill/measure"
	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

// S3WritesConfig is the `with:` block of the s3-writes probe.
type S3WritesConfig struct {
	Bucket     string `yaml:"bucket" doc:"bucket to write to (required; must exist: drill creates no bucket)"`
	Prefix     string `yaml:"prefix" doc:"key prefix; objects go under <prefix><run id>/"`
	Region     string `yaml:"region" doc:"region of bucket (default: environment.aws.region)"`
	ReadBucket string `yaml:"readBucket" doc:"bucket read back from after recovery, e.g. a replication destination (default: bucket)"`
	ReadRegion string `yaml:"readRegion" doc:"region of readBucket (default: region)"`
}

// Validate implements scenarios.Validator.
func (c *S3WritesConfig) Validate() error {
	var errs []error
	if c.Bucket == "" {
		errs = append(errs, scenarios.FieldErrorf("bucket", "required"))
	}
	if strings.HasPrefix(c.Prefix, "/") {
		errs = append(errs, scenarios.ValueErrorf("prefix", "must not start with / (S3 keys have no leading slash)"))
	}
	return errors.Join(errs...)
}

// S3WritesType is the s3-writes probe (role data): each sample puts the next sequenced object
// <prefix><run id>/<seq> into bucket. After recovery it lists what readBucket holds under this
// run's prefix (S3 lists are strongly consistent), so the runner classifies the writes as
// lost, recovered or unexpected and computes the RPO exactly as for etcd-writes. Against a
// replication destination that measures what replication had delivered. It deletes every
// version of its own objects at the end, from both buckets (replication does not replicate
// deletes by default), and nothing else.
func S3WritesType() runner.ProbeType {
	return runner.NewProbeType("s3-writes",
		"Sequenced S3 puts with read-back, e.g. from a replication destination: lost acknowledged writes and RPO (role data)",
		func() *S3WritesConfig { return &S3WritesConfig{Prefix: "drill-writes/"} },
		func(cfg *S3WritesConfig, spec scenarios.ProbeSpec, env *runner.Env) (runner.Probe, error) {
			c, err := awsenv.ClientsFrom(env)
			if err != nil {
				return nil, err
			}
			p := &S3Writes{cfg: *cfg, write: c.S3(cfg.Region), runID: dataRunID(env), log: newWriteLog(env), env: env}
			if p.cfg.ReadBucket == "" {
				p.cfg.ReadBucket = p.cfg.Bucket
			}
			if p.cfg.ReadRegion == "" {
				p.cfg.ReadRegion = p.cfg.Region
			}
			p.read = c.S3(p.cfg.ReadRegion)
			return p, nil
		}, runner.AsDataProbe())
}

// S3Writes is the probe; it implements runner.DataProbe and runner.Closer.
type S3Writes struct {
	cfg         S3WritesConfig
	write, read *s3.Client
	runID       string
	log         *measure.WriteLog
	env         *runner.Env
}

// RunPrefix is the key prefix of this run's objects.
func (p *S3Writes) RunPrefix() string { return p.cfg.Prefix + p.runID + "/" }

// Key is the object key of write seq: zero-padded so a listing is in write order.
func (p *S3Writes) Key(seq uint64) string { return fmt.Sprintf("%s%020d", p.RunPrefix(), seq) }

// Check implements runner.Probe: put the next sequenced object.
func (p *S3Writes) Check(ctx context.Context) error {
	seq := p.log.Begin()
	body := fmt.Sprintf(`{"runId":%q,"seq":%d,"writtenAt":%q}`, p.runID, seq, time.Now().UTC().Format(time.RFC3339Nano))
	_, err := p.write.PutObject(ctx, &s3.PutObjectInput{
		Bucket:      &p.cfg.Bucket,
		Key:         aws.String(p.Key(seq)),
		Body:        strings.NewReader(body),
		ContentType: aws.String("application/json"),
	})
	p.log.End(ctx, seq, err, writeOutcome)
	if err != nil {
		return fmt.Errorf("put object seq %d into %s: %w", seq, p.cfg.Bucket, err)
	}
	return nil
}

// Writes implements runner.DataProbe.
func (p *S3Writes) Writes() []measure.Write { return p.log.Writes() }

// ReadBack implements runner.DataProbe: the sequence numbers under this run's prefix in
// readBucket, retried while S3 is unreachable. A missing bucket is an error, not loss: it is
// far more likely a wrong name than a bucket a disaster deleted.
func (p *S3Writes) ReadBack(ctx context.Context) (map[uint64]bool, error) {
	return retryRead(ctx, "bucket "+p.cfg.ReadBucket, p.readOnce, clientError)
}

func (p *S3Writes) readOnce(ctx context.Context) (map[uint64]bool, error) {
	present := map[uint64]bool{}
	pages := s3.NewListObjectsV2Paginator(p.read, &s3.ListObjectsV2Input{Bucket: &p.cfg.ReadBucket, Prefix: aws.String(p.RunPrefix())})
	for pages.HasMorePages() {
		out, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list objects under %s: %w", p.RunPrefix(), err)
		}
		for _, o := range out.Contents {
			k := aws.ToString(o.Key)
			seq, err := strconv.ParseUint(strings.TrimPrefix(k, p.RunPrefix()), 10, 64)
			if err != nil || seq == 0 {
				return nil, fmt.Errorf("object %q is not one of this run's sequenced writes", k)
			}
			present[seq] = true
		}
	}
	return present, nil
}

// Close implements runner.Closer: deletes every version of this run's objects from bucket and
// readBucket. A failed cleanup is logged as well as returned.
func (p *S3Writes) Close() error {
	if len(p.log.Seqs()) == 0 {
		// Nothing written (e.g. a dry run): no calls.
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	err := p.deleteRun(ctx, p.write, p.cfg.Bucket)
	if p.cfg.ReadBucket != p.cfg.Bucket || p.cfg.ReadRegion != p.cfg.Region {
		err = errors.Join(err, p.deleteRun(ctx, p.read, p.cfg.ReadBucket))
	}
	if err != nil && p.env != nil && p.env.Log != nil {
		p.env.Log.Warn("s3-writes: clean up", "bucket", p.cfg.Bucket, "prefix", p.RunPrefix(), "err", err)
	}
	return err
}

// deleteRun deletes every object version and delete marker under the run's prefix: a plain
// delete in a versioned bucket (replication requires versioning) would only hide them.
func (p *S3Writes) deleteRun(ctx context.Context, api *s3.Client, bucket string) error {
	pages := s3.NewListObjectVersionsPaginator(api, &s3.ListObjectVersionsInput{Bucket: &bucket, Prefix: aws.String(p.RunPrefix())})
	for pages.HasMorePages() {
		out, err := pages.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list versions under %s in %s: %w", p.RunPrefix(), bucket, err)
		}
		var ids []s3types.ObjectIdentifier
		for _, v := range out.Versions {
			ids = append(ids, s3types.ObjectIdentifier{Key: v.Key, VersionId: v.VersionId})
		}
		for _, m := range out.DeleteMarkers {
			ids = append(ids, s3types.ObjectIdentifier{Key: m.Key, VersionId: m.VersionId})
		}
		if len(ids) == 0 {
			continue
		}
		del, err := api.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: &bucket, Delete: &s3types.Delete{Objects: ids, Quiet: aws.Bool(true)}})
		if err != nil {
			return fmt.Errorf("delete objects under %s in %s: %w", p.RunPrefix(), bucket, err)
		}
		if len(del.Errors) > 0 {
			e := del.Errors[0]
			return fmt.Errorf("delete %s in %s: %s: %s (%d errors)", aws.ToString(e.Key), bucket, aws.ToString(e.Code), aws.ToString(e.Message), len(del.Errors))
		}
	}
	return nil
}
