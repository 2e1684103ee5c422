package awsenv

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"

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
	"github.com/aws/aws-sdk-go-v2/service/sts"
	smithyendpoints "github.com/aws/smithy-go/endpoints"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// serviceEndpoint is where one service's client sends its calls.
type serviceEndpoint struct {
	service string
	url     *url.URL
}

// resolvedEndpoints asks each client the connector hands out where it will send its calls, as
// the SDK resolves it. That is not always the endpoint drill configured:
// AWS_IGNORE_CONFIGURED_ENDPOINT_URLS (or a profile's ignore_configured_endpoint_urls) drops it
// and AWS_ENDPOINT_URL_<SERVICE> replaces it for one service.
func resolvedEndpoints(ctx context.Context, cfg aws.Config) ([]serviceEndpoint, error) {
	var out []serviceEndpoint
	add := func(service string, ep smithyendpoints.Endpoint, err error) error {
		if err != nil {
			return fmt.Errorf("resolve the %s endpoint: %w", service, err)
		}
		u := ep.URI
		out = append(out, serviceEndpoint{service: service, url: &u})
		return nil
	}
	flags := func(f aws.FIPSEndpointState, d aws.DualStackEndpointState) (fips, dual *bool) {
		return aws.Bool(f == aws.FIPSEndpointStateEnabled), aws.Bool(d == aws.DualStackEndpointStateEnabled)
	}
	var errs []error
	{
		o := ec2.NewFromConfig(cfg).Options()
		fips, dual := flags(o.EndpointOptions.UseFIPSEndpoint, o.EndpointOptions.UseDualStackEndpoint)
		ep, err := o.EndpointResolverV2.ResolveEndpoint(ctx, ec2.EndpointParameters{Region: &o.Region, Endpoint: o.BaseEndpoint, UseFIPS: fips, UseDualStack: dual})
		errs = append(errs, add("EC2", ep, err))
	}
	{
		o := autoscaling.NewFromConfig(cfg).Options()
		fips, dual := flags(o.EndpointOptions.UseFIPSEndpoint, o.EndpointOptions.UseDualStackEndpoint)
		ep, err := o.EndpointResolverV2.ResolveEndpoint(ctx, autoscaling.EndpointParameters{Region: &o.Region, Endpoint: o.BaseEndpoint, UseFIPS: fips, UseDualStack: dual})
		errs = append(errs, add("Auto Scaling", ep, err))
	}
	{
		o := route53.NewFromConfig(cfg).Options()
		fips, dual := flags(o.EndpointOptions.UseFIPSEndpoint, o.EndpointOptions.UseDualStackEndpoint)
		ep, err := o.EndpointResolverV2.ResolveEndpoint(ctx, route53.EndpointParameters{Region: &o.Region, Endpoint: o.BaseEndpoint, UseFIPS: fips, UseDualStack: dual})
		errs = append(errs, add("Route 53", ep, err))
	}
	{
		o := rds.NewFromConfig(cfg).Options()
		fips, dual := flags(o.EndpointOptions.UseFIPSEndpoint, o.EndpointOptions.UseDualStackEndpoint)
		ep, err := o.EndpointResolverV2.ResolveEndpoint(ctx, rds.EndpointParameters{Region: &o.Region, Endpoint: o.BaseEndpoint, UseFIPS: fips, UseDualStack: dual})
		errs = append(errs, add("RDS", ep, err))
	}
	{
		o := ssm.NewFromConfig(cfg).Options()
		fips, dual := flags(o.EndpointOptions.UseFIPSEndpoint, o.EndpointOptions.UseDualStackEndpoint)
		ep, err := o.EndpointResolverV2.ResolveEndpoint(ctx, ssm.EndpointParameters{Region: &o.Region, Endpoint: o.BaseEndpoint, UseFIPS: fips, UseDualStack: dual})
		errs = append(errs, add("SSM", ep, err))
	}
	{
		o := sns.NewFromConfig(cfg).Options()
		fips, dual := flags(o.EndpointOptions.UseFIPSEndpoint, o.EndpointOptions.UseDualStackEndpoint)
		ep, err := o.EndpointResolverV2.ResolveEndpoint(ctx, sns.EndpointParameters{Region: &o.Region, Endpoint: o.BaseEndpoint, UseFIPS: fips, UseDualStack: dual})
		errs = append(errs, add("SNS", ep, err))
	}
	{
		o := drs.NewFromConfig(cfg).Options()
		fips, dual := flags(o.EndpointOptions.UseFIPSEndpoint, o.EndpointOptions.UseDualStackEndpoint)
		ep, err := o.EndpointResolverV2.ResolveEndpoint(ctx, drs.EndpointParameters{Region: &o.Region, Endpoint: o.BaseEndpoint, UseFIPS: fips, UseDualStack: dual})
		errs = append(errs, add("DRS", ep, err))
	}
	{
		o := dynamodb.NewFromConfig(cfg).Options()
		fips, dual := flags(o.EndpointOptions.UseFIPSEndpoint, o.EndpointOptions.UseDualStackEndpoint)
		ep, err := o.EndpointResolverV2.ResolveEndpoint(ctx, dynamodb.EndpointParameters{Region: &o.Region, Endpoint: o.BaseEndpoint, UseFIPS: fips, UseDualStack: dual})
		errs = append(errs, add("DynamoDB", ep, err))
	}
	{
		// No bucket in the parameters: with one, real AWS resolves to <bucket>.s3.<region>...,
		// which is no more loopback than s3.<region>...; path style (newS3) keeps the
		// emulator's host as it is.
		o := newS3(cfg).Options()
		fips, dual := flags(o.EndpointOptions.UseFIPSEndpoint, o.EndpointOptions.UseDualStackEndpoint)
		ep, err := o.EndpointResolverV2.ResolveEndpoint(ctx, s3.EndpointParameters{Region: &o.Region, Endpoint: o.BaseEndpoint, UseFIPS: fips, UseDualStack: dual, ForcePathStyle: aws.Bool(o.UsePathStyle)})
		errs = append(errs, add("S3", ep, err))
	}
	{
		o := sts.NewFromConfig(cfg).Options()
		fips, dual := flags(o.EndpointOptions.UseFIPSEndpoint, o.EndpointOptions.UseDualStackEndpoint)
		ep, err := o.EndpointResolverV2.ResolveEndpoint(ctx, sts.EndpointParameters{Region: &o.Region, Endpoint: o.BaseEndpoint, UseFIPS: fips, UseDualStack: dual})
		errs = append(errs, add("STS", ep, err))
	}
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// judgeEndpoints decides whether a run talks to an emulator. It does when every client's
// resolved endpoint is on loopback, or when the scenario declares an emulator (one on another
// host, e.g. LocalStack on a Docker machine) and every client still calls the configured
// endpoint. Anything else is real AWS; why names the first client that proves it.
func judgeEndpoints(eps []serviceEndpoint, configured string, declared bool) (emulator bool, why string) {
	want, _ := url.Parse(configured)
	for _, ep := range eps {
		same := configured != "" && want != nil && strings.EqualFold(ep.url.Host, want.Host)
		switch {
		case isLoopback(ep.url.Hostname()):
		case declared && same:
		case same:
			return false, fmt.Sprintf("%s calls go to %s, which is not on loopback (set environment.aws.emulator: true if it is an emulator)", ep.service, ep.url.Redacted())
		case configured != "":
			return false, fmt.Sprintf("%s calls go to %s, not to the configured endpoint %s", ep.service, ep.url.Redacted(), configured)
		default:
			return false, fmt.Sprintf("%s calls go to %s", ep.service, ep.url.Redacted())
		}
	}
	return true, ""
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// loopbackOnly refuses, at send time, a request of an emulator run that is not bound for
// loopback: the connect-time judgement looked at one region's clients, and a client for
// another region must not slip out to AWS.
func loopbackOnly(stack *middleware.Stack) error {
	return stack.Finalize.Add(middleware.FinalizeMiddlewareFunc("drillLoopbackOnly",
		func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			if req, ok := in.Request.(*smithyhttp.Request); ok && req.URL != nil && !isLoopback(req.URL.Hostname()) {
				return middleware.FinalizeOutput{}, middleware.Metadata{}, fmt.Errorf("refusing to send a request of an emulator run to %s: not on loopback", req.URL.Host)
			}
			return next.HandleFinalize(ctx, in)
		}), middleware.After)
}

// EmulatorEndpoint is the block's endpoint when it names an emulator (on loopback, or declared
// with emulator: true), else "": what drill's own writes, such as results, may send there.
func (e *Env) EmulatorEndpoint() string {
	if e == nil || e.Endpoint == "" {
		return ""
	}
	u, err := url.Parse(e.Endpoint)
	if err != nil || (!e.Emulator && !isLoopback(u.Hostname())) {
		return ""
	}
	return e.Endpoint
}
