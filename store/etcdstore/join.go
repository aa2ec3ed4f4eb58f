package etcdstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
)

// MaxVoters is the largest number of voting members: beyond five a
// cluster only gets slower (every commit waits for a majority), and a
// sixth voter adds no tolerance. Further machines are clients.
const MaxVoters = 5

// Voters counts the voting members of the cluster.
func Voters(ctx context.Context, cli *clientv3.Client) (int, error) {
	resp, err := cli.MemberList(ctx)
	if err != nil {
		return 0, fmt.Errorf("list cluster members: %w", err)
	}
	n := 0
	for _, m := range resp.Members {
		if !m.IsLearner {
			n++
		}
	}
	return n, nil
}

// JoinMember adds the member mc describes to the cluster cli reaches:
// first as a learner (it receives the log without voting, so a joiner
// that is slow to catch up never costs the cluster its quorum), then,
// once in sync with the leader, promoted to voter.
func JoinMember(ctx context.Context, cli *clientv3.Client, mc MemberConfig, timeout time.Duration) (*embed.Etcd, error) {
	e, id, err := StartLearner(ctx, cli, mc, timeout)
	if err != nil {
		return nil, err
	}
	if err := Promote(ctx, cli, id); err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

// StartLearner adds mc as a learner and starts it; mc.InitialCluster and
// mc.Existing are filled from the cluster's member list. It returns the
// member's id for Promote.
func StartLearner(ctx context.Context, cli *clientv3.Client, mc MemberConfig, timeout time.Duration) (*embed.Etcd, uint64, error) {
	resp, err := addLearner(ctx, cli, mc)
	if err != nil {
		return nil, 0, err
	}
	var initial []string
	for _, m := range resp.Members {
		name := m.Name
		if m.ID == resp.Member.ID {
			name = mc.Name
		}
		for _, u := range m.PeerURLs {
			initial = append(initial, name+"="+u)
		}
	}
	mc.InitialCluster, mc.Existing = strings.Join(initial, ","), true
	e, err := StartMember(mc, timeout)
	if err != nil {
		// Leave no learner behind that will never start.
		_, _ = cli.MemberRemove(ctx, resp.Member.ID)
		return nil, 0, err
	}
	return e, resp.Member.ID, nil
}

// addLearner adds the learner, waiting while etcd calls the cluster
// unhealthy: a member promoted a moment ago counts only once the leader
// has been connected to it for a while (strict reconfiguration check).
func addLearner(ctx context.Context, cli *clientv3.Client, mc MemberConfig) (*clientv3.MemberAddResponse, error) {
	for {
		resp, err := cli.MemberAddAsLearner(ctx, []string{mc.PeerURL.String()})
		if err == nil {
			return resp, nil
		}
		if !errors.Is(err, rpctypes.ErrUnhealthy) && !strings.Contains(err.Error(), rpctypes.ErrUnhealthy.Error()) {
			return nil, fmt.Errorf("add %s as learner: %w", mc.Name, err)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("add %s as learner: %w (%w)", mc.Name, ctx.Err(), err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Promote makes a learner a voter once it has caught up with the leader.
func Promote(ctx context.Context, cli *clientv3.Client, id uint64) error {
	for {
		_, err := cli.MemberPromote(ctx, id)
		if err == nil {
			return nil
		}
		if !errors.Is(err, rpctypes.ErrMemberLearnerNotReady) && !strings.Contains(err.Error(), rpctypes.ErrMemberLearnerNotReady.Error()) {
			return fmt.Errorf("promote member %x to voter: %w", id, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("promote member %x to voter: %w", id, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
