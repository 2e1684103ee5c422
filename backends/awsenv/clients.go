package awsenv

import (
	"errors"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/drs"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/drillhq/drill/runner"
)

// Clients hands out SDK clients per service and region, all built from one configuration
// (endpoint, credentials, retryer). The connector stores it in the runner.Env.
type Clients struct {
	// Config is the base configuration; its Region is the scenario's default region.
	Config aws.Config
	// Endpoint is the configured endpoint ("" for none). Whether calls go there is what
	// Emulator says.
	Endpoint string
	// Account is the caller's account id (STS), when known.
	Account string
	// PageSize is the page size asked of Describe calls (0 = the largest each API allows).
	// Tests lower it to exercise pagination.
	PageSize int32
	// PollInterval paces waits for a state change (default 5s; an emulator uses 200ms).
	PollInterval time.Duration

	emulator bool
	mu       sync.Mutex
	cache    map[clientKey]any
}

type clientKey struct{ service, region string }

// newClients returns Clients for a configuration, its configured endpoint and whether the
// connector judged the calls to go to an emulator.
func newClients(cfg aws.Config, endpoint string, emulator bool) *Clients {
	c := &Clients{Config: cfg, Endpoint: endpoint, emulator: emulator, PollInterval: 5 * time.Second, cache: map[clientKey]any{}}
	if emulator {
		c.PollInterval = 200 * time.Millisecond
	}
	return c
}

// Emulator reports whether the clients talk to an emulator rather than real AWS.
func (c *Clients) Emulator() bool { return c.emulator }

// Region returns r, or the default region when r is empty.
func (c *Clients) Region(r string) string {
	if r == "" {
		return c.Config.Region
	}
	return r
}

func client[T any](c *Clients, service, region string, mk func(aws.Config) T) T {
	region = c.Region(region)
	c.mu.Lock()
	defer c.mu.Unlock()
	k := clientKey{service, region}
	if v, ok := c.cache[k]; ok {
		return v.(T)
	}
	cfg := c.Config.Copy()
	cfg.Region = region
	v := mk(cfg)
	c.cache[k] = v
	return v
}

// EC2 returns the EC2 client for a region ("" = default).
func (c *Clients) EC2(region string) *ec2.Client {
	return client(c, "ec2", region, func(cfg aws.Config) *ec2.Client { return ec2.NewFromConfig(cfg) })
}

// AutoScaling returns the Auto Scaling client for a region.
func (c *Clients) AutoScaling(region string) *autoscaling.Client {
	return client(c, "autoscaling", region, func(cfg aws.Config) *autoscaling.Client { return autoscaling.NewFromConfig(cfg) })
}

// Route53 returns the Route 53 client (a global service; region only picks the endpoint).
func (c *Clients) Route53() *route53.Client {
	return client(c, "route53", "", func(cfg aws.Config) *route53.Client { return route53.NewFromConfig(cfg) })
}

// RDS returns the RDS client for a region.
func (c *Clients) RDS(region string) *rds.Client {
	return client(c, "rds", region, func(cfg aws.Config) *rds.Client { return rds.NewFromConfig(cfg) })
}

// SSM returns the Systems Manager client for a region.
func (c *Clients) SSM(region string) *ssm.Client {
	return client(c, "ssm", region, func(cfg aws.Config) *ssm.Client { return ssm.NewFromConfig(cfg) })
}

// SNS returns the SNS client for a region.
func (c *Clients) SNS(region string) *sns.Client {
	return client(c, "sns", region, func(cfg aws.Config) *sns.Client { return sns.NewFromConfig(cfg) })
}

// DRS returns the Elastic Disaster Recovery client for a region.
func (c *Clients) DRS(region string) *drs.Client {
	return client(c, "drs", region, func(cfg aws.Config) *drs.Client { return drs.NewFromConfig(cfg) })
}

// DynamoDB returns the DynamoDB client for a region.
func (c *Clients) DynamoDB(region string) *dynamodb.Client {
	return client(c, "dynamodb", region, func(cfg aws.Config) *dynamodb.Client { return dynamodb.NewFromConfig(cfg) })
}

// S3 returns the S3 client for a region (the bucket's region: S3 redirects nothing for us).
func (c *Clients) S3(region string) *s3.Client {
	return client(c, "s3", region, func(cfg aws.Config) *s3.Client { return newS3(cfg) })
}

// newS3 builds an S3 client. With a configured endpoint it uses path-style addressing:
// virtual-hosted style would send requests to <bucket>.127.0.0.1, which does not resolve and
// which the endpoint guard could not recognise as loopback. The endpoint guard judges a client
// built by this same function, so what it judges is what sends.
func newS3(cfg aws.Config) *s3.Client {
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		if o.BaseEndpoint != nil && *o.BaseEndpoint != "" {
			o.UsePathStyle = true
		}
	})
}

// PageLimit is the page size to ask of a Describe call whose API allows at most max: PageSize
// when a test lowered it, else max.
func (c *Clients) PageLimit(max int32) int32 {
	if c.PageSize > 0 && c.PageSize < max {
		return c.PageSize
	}
	return max
}

// PollEvery is the pause between two looks at a state change.
func (c *Clients) PollEvery() time.Duration {
	if c.PollInterval <= 0 {
		return 5 * time.Second
	}
	return c.PollInterval
}

type clientsKey struct{}

func setClients(env *runner.Env, c *Clients) { env.Set(clientsKey{}, c) }

// errNoAWS is returned by constructors of AWS types when the scenario has no environment.aws.
var errNoAWS = errors.New("this type needs environment.aws in the scenario")

// ClientsFrom returns the clients the AWS connector stored in env.
func ClientsFrom(env *runner.Env) (*Clients, error) {
	if env != nil {
		if c, ok := env.Value(clientsKey{}).(*Clients); ok && c != nil {
			return c, nil
		}
	}
	return nil, errNoAWS
}
