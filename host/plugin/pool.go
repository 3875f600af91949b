package plugin

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	experimentalsys "github.com/tetratelabs/wazero/experimental/sys"
	"github.com/tetratelabs/wazero/experimental/sysfs"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/mastra-server/mastra-server/host/plugin/rootfs"
)

// errCanceled is returned by acquire when the caller went away.
var errCanceled = errors.New("plugin: request canceled")

// instance is one instantiated guest. It serves one call at a time.
type instance struct {
	mod            api.Module
	handleRequest  api.Function
	handleResponse api.Function // nil when the guest does not export it
	stack          []uint64     // reused call stack: no allocation per call
	features       uint32       // enabled during _initialize/_start
	uses           int
}

func (in *instance) callRequest(ctx context.Context) (uint64, error) {
	err := in.handleRequest.CallWithStack(ctx, in.stack)
	return in.stack[0], err
}

func (in *instance) callResponse(ctx context.Context, reqCtx, isError uint32) error {
	in.stack[0], in.stack[1] = uint64(reqCtx), uint64(isError)
	return in.handleResponse.CallWithStack(ctx, in.stack)
}

// pool is one compiled module in its own runtime and a bounded set of
// instances. Reload replaces the whole pool.
//
// slots holds one token per live instance (idle or in use), so there are
// never more than MaxInstances. An instance is created only by whoever puts a
// token in; a discarded instance takes its token out. idle has the same
// capacity, so putting an instance back never blocks.
type pool struct {
	p            *Plugin
	rt           wazero.Runtime
	compiled     wazero.CompiledModule
	modCfg       wazero.ModuleConfig
	memThreshold uint32 // recycle an instance whose memory grew past this

	idle  chan *instance
	slots chan struct{}
	// mounts are the granted directories, open for the pool's life.
	mounts []*rootfs.FS

	closedFlag atomic.Bool
	mu         sync.Mutex // guards closed and users
	closed     bool
	users      int           // calls and background work using rt
	drained    chan struct{} // closed once closed && users == 0
	rtOnce     sync.Once
	rtErr      error
}

// newPool reads, compiles and checks the module, then pre-warms the pool.
func (p *Plugin) newPool(ctx context.Context) (*pool, error) {
	spec := &p.spec
	wasm, err := os.ReadFile(spec.Module)
	if err != nil {
		return nil, fmt.Errorf("read module: %w", err)
	}
	pages := uint32((spec.MemoryLimit + pageSize - 1) / pageSize)
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().
		WithMemoryLimitPages(pages).
		WithCloseOnContextDone(true).
		WithCompilationCache(p.h.cache))
	pl := &pool{
		p:       p,
		rt:      rt,
		idle:    make(chan *instance, spec.MaxInstances),
		slots:   make(chan struct{}, spec.MaxInstances),
		drained: make(chan struct{}),
	}
	limit := uint64(pages) * pageSize
	pl.memThreshold = uint32(min(limit*3/4, 1<<32-1))
	fail := func(err error) (*pool, error) {
		_ = rt.Close(ctx)
		pl.closeMounts()
		return nil, err
	}
	pl.compiled, err = p.h.compile(ctx, rt, wasm)
	if err != nil {
		return fail(fmt.Errorf("compile: %w", err))
	}
	need, err := checkModule(pl.compiled, spec)
	if err != nil {
		return fail(err)
	}
	if err := instantiateHostModules(ctx, rt, need); err != nil {
		return fail(err)
	}
	if err := pl.openMounts(); err != nil {
		return fail(err)
	}
	pl.modCfg = p.moduleConfig(pl.compiled, pl.mounts)
	for range spec.MinInstances {
		pl.slots <- struct{}{}
		in, err := pl.instantiate(ctx)
		if err != nil {
			return fail(fmt.Errorf("instantiate: %w", err))
		}
		// Never recycle for memory a guest needs just to start.
		pl.memThreshold = max(pl.memThreshold, in.mod.Memory().Size())
		pl.idle <- in
	}
	return pl, nil
}

// compile compiles wasm in rt through the host's shared cache. Compiles of
// equal bytes take turns: on a disk-cache hit, wazero v1.12 publishes the
// module in the shared in-memory cache before its entry preambles are built,
// so a second runtime compiling the same bytes at that moment got a module
// whose first instantiation panicked (finding F3). Different modules still
// compile in parallel.
func (h *Host) compile(ctx context.Context, rt wazero.Runtime, wasm []byte) (wazero.CompiledModule, error) {
	unlock := h.compiling.lock(sha256.Sum256(wasm))
	defer unlock()
	return rt.CompileModule(ctx, wasm)
}

// keyedMutex is one mutex per key, dropped when nobody holds or waits for it.
type keyedMutex struct {
	mu    sync.Mutex // guards locks
	locks map[[32]byte]*keyLock
}

type keyLock struct {
	mu    sync.Mutex
	users int // holders and waiters, under keyedMutex.mu
}

// lock locks key and returns its unlock.
func (k *keyedMutex) lock(key [32]byte) (unlock func()) {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = make(map[[32]byte]*keyLock)
	}
	l := k.locks[key]
	if l == nil {
		l = &keyLock{}
		k.locks[key] = l
	}
	l.users++
	k.mu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		k.mu.Lock()
		if l.users--; l.users == 0 {
			delete(k.locks, key)
		}
		k.mu.Unlock()
	}
}

// imported says which optional host modules a guest imports.
type imported struct{ mastra, wasi, env bool }

// checkModule validates exports and checks every import against what the
// host provides and what the plugin was granted.
func checkModule(c wazero.CompiledModule, spec *Spec) (imported, error) {
	var need imported
	var errs []error
	exports := c.ExportedFunctions()
	if def, ok := exports[exportHandleRequest]; !ok {
		errs = append(errs, errors.New("module does not export handle_request"))
	} else if !equalTypes(def.ParamTypes(), nil) || !equalTypes(def.ResultTypes(), types(i64)) {
		errs = append(errs, fmt.Errorf("handle_request has signature %s, want ()->(i64)",
			sigString(def.ParamTypes(), def.ResultTypes())))
	}
	if def, ok := exports[exportHandleResponse]; ok &&
		(!equalTypes(def.ParamTypes(), types(i32, i32)) || len(def.ResultTypes()) != 0) {
		errs = append(errs, fmt.Errorf("handle_response has signature %s, want (i32,i32)->()",
			sigString(def.ParamTypes(), def.ResultTypes())))
	}
	for name := range exports {
		if strings.HasPrefix(name, exportABIMarker) && name != exportABIMarker+"1" {
			errs = append(errs, fmt.Errorf("module exports %s: this host speaks mastra v1", name))
		}
	}
	if _, ok := c.ExportedMemories()[exportMemory]; !ok {
		errs = append(errs, errors.New("module does not export its memory as \"memory\""))
	}
	for _, def := range c.ImportedMemories() {
		mod, name, _ := def.Import()
		errs = append(errs, fmt.Errorf("module imports memory %s.%s; a plugin must define its own", mod, name))
	}
	for _, def := range c.ImportedFunctions() {
		mod, name, _ := def.Import()
		var m *hostModule
		switch mod {
		case moduleHTTPHandler:
			m = httpHandlerModule
		case moduleMastra:
			m, need.mastra = mastraModule, true
		case moduleEnv:
			m, need.env = envModule, true
		case moduleWASI:
			need.wasi = true // wazero checks names and signatures at instantiation
			continue
		default:
			errs = append(errs, fmt.Errorf("module imports %s.%s, which this host does not provide", mod, name))
			continue
		}
		f, ok := m.funcs[name]
		if !ok {
			errs = append(errs, fmt.Errorf("module imports unknown function %s.%s", mod, name))
			continue
		}
		if !f.matches(def) {
			errs = append(errs, fmt.Errorf("module imports %s.%s with signature %s, want %s", mod, name,
				sigString(def.ParamTypes(), def.ResultTypes()), sigString(f.params, f.results)))
			continue
		}
		switch {
		case f.grant == grantAgents && len(spec.Grants.Agents) == 0:
			errs = append(errs, fmt.Errorf("module imports %s.%s but the plugin is granted no agents", mod, name))
		case f.grant == grantKV && !spec.Grants.KV:
			errs = append(errs, fmt.Errorf("module imports %s.%s but the plugin is not granted kv", mod, name))
		case f.grant == grantWorkflows && len(spec.Grants.Workflows) == 0:
			errs = append(errs, fmt.Errorf("module imports %s.%s but the plugin is granted no workflows", mod, name))
		case f.grant == grantThreads && !spec.Grants.Threads:
			errs = append(errs, fmt.Errorf("module imports %s.%s but the plugin is not granted threads", mod, name))
		}
	}
	return need, errors.Join(errs...)
}

// instantiateHostModules adds the host modules to the plugin's runtime.
func instantiateHostModules(ctx context.Context, rt wazero.Runtime, need imported) error {
	if err := httpHandlerModule.instantiate(ctx, rt); err != nil {
		return err
	}
	if need.mastra {
		if err := mastraModule.instantiate(ctx, rt); err != nil {
			return err
		}
	}
	if need.env {
		if err := envModule.instantiate(ctx, rt); err != nil {
			return err
		}
	}
	if need.wasi {
		if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
			return fmt.Errorf("host module %s: %w", moduleWASI, err)
		}
	}
	return nil
}

// openMounts opens each granted directory as an os.Root: the guest reaches
// nothing outside it, not even through a symbolic link in it (finding N4:
// wazero's WithDirMount followed links anywhere on the host).
func (pl *pool) openMounts() error {
	for _, m := range pl.p.spec.Grants.Mounts {
		fsys, err := rootfs.Open(m.HostPath)
		if err != nil {
			return fmt.Errorf("mount %s: %w", m.HostPath, err)
		}
		pl.mounts = append(pl.mounts, fsys)
	}
	return nil
}

func (pl *pool) closeMounts() {
	for _, m := range pl.mounts {
		_ = m.Close()
	}
}

// moduleConfig is the sandbox of every instance: anonymous, real clocks,
// crypto random, no args, stdout/stderr to the log, and only the granted
// environment variables and mounts (mounts[i] is Grants.Mounts[i], opened).
func (p *Plugin) moduleConfig(c wazero.CompiledModule, mounts []*rootfs.FS) wazero.ModuleConfig {
	cfg := wazero.NewModuleConfig().
		WithName("").
		WithSysWalltime().
		WithSysNanotime().
		WithRandSource(rand.Reader).
		WithStdout(&guestOutput{log: p.log, stream: "stdout", lim: p.lim}).
		WithStderr(&guestOutput{log: p.log, stream: "stderr", lim: p.lim})
	exports := c.ExportedFunctions()
	switch {
	case exports[exportInitialize] != nil:
		cfg = cfg.WithStartFunctions(exportInitialize)
	case exports[exportStart] != nil:
		cfg = cfg.WithStartFunctions(exportStart)
	default:
		cfg = cfg.WithStartFunctions()
	}
	for _, name := range p.spec.Grants.Env {
		if v, ok := os.LookupEnv(name); ok {
			cfg = cfg.WithEnv(name, v)
		}
	}
	if len(mounts) > 0 {
		fsc := wazero.NewFSConfig()
		for i, m := range p.spec.Grants.Mounts {
			var fsys experimentalsys.FS = mounts[i]
			if m.ReadOnly {
				fsys = &sysfs.ReadFS{FS: fsys}
			}
			fsc = fsc.(sysfs.FSConfig).WithSysFSMount(fsys, m.GuestPath)
		}
		cfg = cfg.WithFSConfig(fsc)
	}
	return cfg
}

// instantiate creates an instance; the caller holds a slot for it. The start
// function runs with no request: only get_config, enable_features, log and
// kv work there.
func (pl *pool) instantiate(ctx context.Context) (*instance, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), instantiateTimeout)
	defer cancel()
	st := &reqState{p: pl.p, init: true}
	mod, err := pl.rt.InstantiateModule(context.WithValue(ctx, stateKey{}, st), pl.compiled, pl.modCfg)
	if err != nil {
		return nil, err
	}
	if mod.IsClosed() {
		// proc_exit(0) from _start: wazero reports success but the module is gone.
		return nil, errors.New("guest exited during _start; build it as a reactor (e.g. Go: -buildmode=c-shared)")
	}
	in := &instance{
		mod:            mod,
		handleRequest:  mod.ExportedFunction(exportHandleRequest),
		handleResponse: mod.ExportedFunction(exportHandleResponse),
		stack:          make([]uint64, 2),
		features:       st.features,
	}
	return in, nil
}

// enter returns the current pool, counted as in use until leave.
func (p *Plugin) enter() (*pool, error) {
	for {
		pl := p.cur.Load()
		if pl == nil {
			return nil, ErrClosed
		}
		pl.mu.Lock()
		if !pl.closed {
			pl.users++
			pl.mu.Unlock()
			return pl, nil
		}
		pl.mu.Unlock() // swapped by Reload meanwhile: take the new one
	}
}

func (pl *pool) leave() {
	pl.mu.Lock()
	pl.users--
	last := pl.closed && pl.users == 0
	pl.mu.Unlock()
	if last {
		close(pl.drained)
		_ = pl.closeRuntime()
	}
}

// acquire returns an idle instance, creates one if a slot is free, or waits
// for either until ctx is done or the plugin's Timeout passes (ErrBusy).
func (pl *pool) acquire(ctx context.Context) (*instance, error) {
	for { // fast path: an idle instance, else a free slot, without a timer
		select {
		case in := <-pl.idle:
			if in.mod.IsClosed() {
				pl.drop(in)
				continue
			}
			return in, nil
		default:
		}
		break
	}
	select {
	case pl.slots <- struct{}{}:
		return pl.create(ctx)
	default:
	}
	wctx, cancel := context.WithTimeout(ctx, pl.p.spec.Timeout)
	defer cancel()
	for {
		select {
		case in := <-pl.idle:
			if in.mod.IsClosed() {
				pl.drop(in)
				continue
			}
			return in, nil
		case pl.slots <- struct{}{}:
			return pl.create(ctx)
		case <-wctx.Done():
			if errors.Is(ctx.Err(), context.Canceled) {
				return nil, errCanceled
			}
			return nil, ErrBusy
		}
	}
}

// create instantiates on a slot the caller already took.
func (pl *pool) create(ctx context.Context) (*instance, error) {
	in, err := pl.instantiate(ctx)
	if err != nil {
		<-pl.slots
		pl.p.log.Error("plugin instantiation failed", "err", err)
		return nil, err
	}
	return in, nil
}

// release puts a healthy instance back, or drops it when it is closed, has
// served RecycleAfter calls, or its memory grew past the threshold.
func (pl *pool) release(in *instance) {
	in.uses++
	switch {
	case pl.closedFlag.Load(), in.mod.IsClosed():
		pl.drop(in)
	case pl.p.spec.RecycleAfter > 0 && in.uses >= pl.p.spec.RecycleAfter:
		pl.drop(in)
	case in.mod.Memory().Size() > pl.memThreshold:
		pl.p.log.Info("plugin instance recycled: memory above threshold",
			"bytes", in.mod.Memory().Size(), "threshold", pl.memThreshold)
		pl.drop(in)
	default:
		pl.put(in)
	}
}

// put makes a healthy instance idle, unless the pool was closed meanwhile.
func (pl *pool) put(in *instance) {
	if pl.closedFlag.Load() {
		pl.drop(in)
		return
	}
	pl.idle <- in
}

// drop closes an instance that must never serve again and frees its slot.
// When fewer than MinInstances are left, one is re-created in the background.
func (pl *pool) drop(in *instance) {
	_ = in.mod.Close(context.Background())
	<-pl.slots
	if len(pl.slots) < pl.p.spec.MinInstances && !pl.closedFlag.Load() {
		pl.replenish()
	}
}

// replenish creates one instance in the background, if a slot is free.
func (pl *pool) replenish() {
	pl.mu.Lock()
	if pl.closed {
		pl.mu.Unlock()
		return
	}
	pl.users++
	pl.mu.Unlock()
	go func() {
		defer pl.leave()
		select {
		case pl.slots <- struct{}{}:
		default:
			return
		}
		in, err := pl.create(context.Background())
		if err != nil {
			return
		}
		pl.put(in)
	}()
}

// close stops the pool: idle instances are closed now, busy ones when they
// are released, and the runtime once the last user leaves.
func (pl *pool) close() {
	pl.mu.Lock()
	if pl.closed {
		pl.mu.Unlock()
		return
	}
	pl.closed = true
	pl.closedFlag.Store(true)
	last := pl.users == 0
	pl.mu.Unlock()
	for {
		select {
		case in := <-pl.idle:
			_ = in.mod.Close(context.Background())
			<-pl.slots
			continue
		default:
		}
		break
	}
	if last {
		close(pl.drained)
		_ = pl.closeRuntime()
	}
}

func (pl *pool) closeRuntime() error {
	pl.rtOnce.Do(func() {
		pl.rtErr = pl.rt.Close(context.Background())
		pl.closeMounts()
	})
	return pl.rtErr
}
