# prefork-check's attribution bootstrap for Ruby.
#
# prefork-check adds `-r` and this file to RUBYOPT, so every Ruby process of the
# checked app loads it before the app. It tells the tracer which Ruby line is
# making an fd: around each Ruby call that can make one (File.open, IO.pipe,
# the Socket classes, accept, ...) it writes a record with the calling stack as
# a failing pwrite(-1, ...) when the call starts, and another when it ends.
# strace shows both in the calling thread, around the call's own syscalls, and
# the app's fd table is untouched (fd -1 is never valid). prefork-check's own
# tracer reads them out of a buffer per thread instead: no stop per record. The record format is
# the Python bootstrap's (python/sitecustomize.py).
# A failure here must never stop the app: it then runs without records.
begin
token = ENV['PREFORK_CHECK_TOKEN']
if token && !token.empty? && !defined?(PreforkCheckBootstrap)
  require 'fiddle'
  require 'rbconfig'
  require 'socket'

  module PreforkCheckBootstrap
    TOKEN = ENV['PREFORK_CHECK_TOKEN'].b.freeze
    FIELD = "\x1f".b.freeze
    RECORD = "\x1e".b.freeze
    MAX_FRAMES = 32
    # Under strace's -s 4096, so a record is never cut short.
    MAX_BYTES = 3800
    HERE = File.expand_path(__FILE__).freeze
    # Held here so an app that redefines Fiddle or IO cannot silence the records.
    PWRITE = Fiddle::Function.new(Fiddle::Handle::DEFAULT['pwrite'],
                                  [Fiddle::TYPE_INT, Fiddle::TYPE_VOIDP, Fiddle::TYPE_SIZE_T, Fiddle::TYPE_LONG],
                                  Fiddle::TYPE_SSIZE_T)
    # prefork-check's own tracer reads records out of a buffer per thread whenever the thread
    # stops at a traced call (a record always comes before its call's syscalls): no stop per
    # record. The buffer (freed with its Thread object, which lives as long as the thread runs):
    # bytes used (u32), then records, each a u32 length and its bytes. pwrite(-1, buffer, size, HANDOVER) hands it to the
    # tracer, which reads it and sets it to 0 used: on the thread's first record, and when full.
    BUFFER_SIZE = 65_536
    HANDOVER = 0x70667262
    @buffered = ENV['PREFORK_CHECK_RECORD_BUFFER'] == '1'
    # A loader that evals a file inside lines of its own numbers the file's lines off by those
    # lines (Unicorn evals "Rack::Builder.new {(\n" + config.ru + "\n)}" from line 1; Ruby's own
    # backtraces are one line down too). Per such file: how far its eval'd lines are from its own.
    @eval_offsets = {}

    # The offset of a file evaluated from `source` (first line `first_lineno`), when its opening
    # lines are found there; nil when the source is not that file's text.
    def self.eval_offset(source, path, first_lineno)
      return nil unless File.file?(path) && File.size(path) < 1_000_000
      opening = File.foreach(path).first(3).join
      at = opening.empty? ? nil : source.index(opening)
      return nil unless at && (at.zero? || source[at - 1] == "\n")
      source[0, at].count("\n") + first_lineno - 1
    end

    def self.watch_evals
      TracePoint.new(:script_compiled) do |point|
        source = point.eval_script
        next unless source
        iseq = point.instruction_sequence
        offset = eval_offset(source, iseq.path, iseq.first_lineno)
        @eval_offsets[iseq.path] = offset if offset
      rescue StandardError
        nil
      end.enable
    end

    # A frame's line in its file: eval'd code (no absolute path) is put back by its file's offset.
    def self.line_of(location)
      return location.lineno if location.absolute_path
      location.lineno - @eval_offsets.fetch(location.path, 0)
    end

    def self.text(value)
      value.to_s.b.tr("\x1e\x1f".b, '??')
    end

    # Each frame is sent in full once per thread, then by number: another thread's records may
    # reach the trace later than this one's. A new number is an object id: unique without a lock
    # (a trap handler may not take one).
    def self.frame_ids
      Thread.current.thread_variable_get(:prefork_check_frames) ||
        Thread.current.thread_variable_set(:prefork_check_frames, {})
    end

    # Into the thread's buffer where the tracer reads one; else (and for a trap handler's record
    # while the thread is writing one) as a failing pwrite of its own.
    def self.write(parts)
      bytes = parts.join(RECORD)
      thread = Thread.current
      if @buffered && !thread.thread_variable_get(:prefork_check_writing)
        thread.thread_variable_set(:prefork_check_writing, true)
        begin
          return if buffer(thread, bytes)
        ensure
          thread.thread_variable_set(:prefork_check_writing, false)
        end
      end
      PWRITE.call(-1, bytes, bytes.bytesize, 0)
    end

    def self.buffer(thread, bytes)
      buffer = thread.thread_variable_get(:prefork_check_buffer)
      fresh = buffer.nil?
      buffer = thread.thread_variable_set(:prefork_check_buffer, Fiddle::Pointer.malloc(4 + BUFFER_SIZE, Fiddle::RUBY_FREE)) if fresh
      used = fresh ? 0 : buffer[0, 4].unpack1('V')
      if used + 4 + bytes.bytesize > BUFFER_SIZE
        return false unless hand_over(buffer)
        used = 0
      end
      finish = used + 4 + bytes.bytesize
      buffer[4 + used, 4 + bytes.bytesize] = [bytes.bytesize].pack('V') + bytes
      buffer[0, 4] = [finish].pack('V')
      return true if !fresh || hand_over(buffer)
      # No tracer took it: this process goes on with a pwrite per record, this one included.
      @buffered = false
      thread.thread_variable_set(:prefork_check_buffer, nil)
      false
    end

    # The tracer reads the buffer and empties it (what its count at 0 tells).
    def self.hand_over(buffer)
      PWRITE.call(-1, buffer, 4 + BUFFER_SIZE, HANDOVER)
      buffer[0, 4].unpack1('V').zero?
    end

    # The app's frames, innermost first: a C method (File.open) shows its caller's path
    # and line, so of frames at one place only the outermost, the Ruby code's own, is kept.
    def self.frames
      locations = caller_locations(1, MAX_FRAMES + 8) || []
      locations = locations.reject { |location| location.absolute_path == HERE }
      locations.each_with_index.reject do |location, i|
        outer = locations[i + 1]
        outer && outer.path == location.path && outer.lineno == location.lineno
      end.map(&:first).first(MAX_FRAMES)
    end

    # type C: a Ruby call; N: a call into a C extension's own code, whose fds are the calling line's, made natively.
    def self.start(event, type = 'C')
      parts = [TOKEN, type.b, event.b]
      size = 0
      defined = nil
      known = frame_ids
      frames.each do |location|
        path = location.absolute_path || location.path
        line = line_of(location)
        key = "#{path}:#{line}:#{location.label}"
        part = known[key]
        unless part
          ident = Object.new.object_id.to_s.b
          part = [ident, text(path), line.to_s.b, text(location.label)].join(FIELD)
          break if size + part.bytesize > MAX_BYTES
          (defined ||= {})[key] = ident
        end
        parts << part
        size += part.bytesize
      end
      write(parts)
      # Known from now on: the record that defines them is in the trace.
      known.update(defined) if defined
    rescue StandardError
      nil
    end

    def self.finish
      write([TOKEN, 'X'.b])
    rescue StandardError
      nil
    end

    # Runs the block (the original method) between its start and end records.
    def self.call(event, type = 'C')
      start(event, type)
      begin
        yield
      ensure
        finish
      end
    end

    # Prepends to `target` a module whose methods `names` (those it has) run `around`, given the
    # call's arguments and a proc that makes the call, each as private as the method it stands
    # before. An alias made afterwards names the prepended method: called by it, the method makes
    # the call with the method it stood before, not `super`. Where the app or a gem aliased it to
    # redefine it (as zeitwerk and bootsnap do to Kernel#require, older instrumentation to
    # File#initialize, and pg's own files to PG::Connection.new), `super` from the alias can reach
    # the redefinition, which calls the alias again, without end (Ruby 3.1 does when the patch is
    # evaluated by `load` or inline, not by `require`). Such an alias, called from inside the
    # method's own call, runs without `around` (the outer call announced it); called on its own
    # (kgio's Kgio::Pipe.new is IO.pipe), with it.
    def self.hook(target, names, &around)
      present = names.select { |name| target.method_defined?(name) || target.private_method_defined?(name) }
      originals = present.to_h { |name| [name, target.instance_method(name)] }
      target.prepend(Module.new do
        originals.each do |name, original|
          inside = :"prefork_check_in_#{object_id}_#{name}"
          define_method(name) do |*args, **kwargs, &block|
            if __callee__ == name
              outer = Thread.current[inside]
              Thread.current[inside] = true
              begin
                around.call(args, -> { super(*args, **kwargs, &block) })
              ensure
                Thread.current[inside] = outer
              end
            elsif Thread.current[inside]
              original.bind_call(self, *args, **kwargs, &block)
            else
              around.call(args, -> { original.bind_call(self, *args, **kwargs, &block) })
            end
          end
          private name if target.private_method_defined?(name)
        end
      end)
    end

    # Announces `target`'s methods `names` as `event` (record `type`) around each call.
    def self.wrap(target, event, names, type = 'C')
      hook(target, names) { |_args, run| call(event, type, &run) }
    end

    # C extensions that open files and sockets in their own C code, which no Ruby call above
    # announces: the gem, the class, whether the methods are its own or its instances', and the
    # methods whose calls may make fds. Wrapped once the gem is loaded.
    NATIVE_CALLS = [
      ['sqlite3', 'SQLite3::Database', :instance, %i[initialize]],
      ['pg', 'PG::Connection', :singleton, %i[new connect open connect_start]],
      ['mysql2', 'Mysql2::Client', :instance, %i[connect]],
      ['trilogy', 'Trilogy', :instance, %i[initialize]],
      # redis-rb's hiredis driver (driver: :hiredis): the C client connects.
      ['hiredis', 'Hiredis::Ext::Connection', :instance, %i[connect connect_unix]],
      # The C library opens the socket to the system logger: at open with LOG_NDELAY, or at the first message.
      ['syslog', 'Syslog', :singleton, %i[open open! reopen log emerg alert crit err warning notice info debug]],
    ].freeze
    @native_wrapped = {}

    # The constant if it is loaded; never one still to be autoloaded (that would load it now).
    def self.loaded_constant(name)
      name.split('::').reduce(Object) do |scope, part|
        return nil unless scope.const_defined?(part, false) && !scope.autoload?(part)
        scope.const_get(part, false)
      end
    end

    # The table's classes that are loaded (only `gem`'s, when given).
    def self.wrap_native_calls(gem_only = nil)
      NATIVE_CALLS.each do |gem, name, side, methods|
        next if @native_wrapped[name] || (gem_only && gem != gem_only)
        target = loaded_constant(name)
        next unless target
        wrap(side == :singleton ? target.singleton_class : target, gem, methods, 'N')
        @native_wrapped[name] = true
      rescue StandardError
        @native_wrapped[name] = true
      end
    end

    # FFI's attach_function defines a module method that calls a C function (rdkafka's librdkafka,
    # ethon's libcurl): each method it attaches from now on is announced as a native call, as a
    # ctypes foreign call is in Python. Hooked as soon as ffi has loaded, before a gem attaches.
    def self.hook_ffi
      return if @ffi_hooked
      library = loaded_constant('FFI::Library')
      return unless library
      @ffi_hooked = true
      library.prepend(Module.new do
        def attach_function(name, *rest, **options, &block)
          attached = super
          begin
            PreforkCheckBootstrap.wrap(singleton_class, 'ffi', [name.to_sym], 'N')
          rescue StandardError
            nil
          end
          attached
        end
      end)
    rescue StandardError
      nil
    end

    # A gem of the table is wrapped once it has loaded whole: when `require` of its own name, or
    # the outermost require, returns. Not as soon as its C part is in: the gem's Ruby files may
    # then redefine a wrapped method and alias it (pg: `def new`, `alias connect new`), and the
    # alias would run the C method the hook stood before.
    def self.hook_require
      hook(Kernel, %i[require]) do |args, run|
        depth = Thread.current[:prefork_check_requires].to_i
        Thread.current[:prefork_check_requires] = depth + 1
        run.call
      ensure
        Thread.current[:prefork_check_requires] = depth
        wrap_native_calls(depth.zero? ? nil : args.first.to_s)
        hook_ffi
      end
    end

    def self.install
      start_record
      watch_evals
      wrap(File, 'open', %i[initialize])
      wrap(Dir, 'open', %i[initialize])
      # Dir.open makes its Dir in C, without calling #initialize.
      wrap(Dir.singleton_class, 'open', %i[open])
      wrap(IO.singleton_class, 'open', %i[sysopen])
      wrap(IO.singleton_class, 'pipe', %i[pipe popen])
      wrap(IO, 'dup', %i[initialize_copy reopen])
      [Socket, TCPSocket, TCPServer, UDPSocket, UNIXSocket, UNIXServer].each { |cls| wrap(cls, 'socket', %i[initialize]) }
      [Socket, TCPServer, UNIXServer].each { |cls| wrap(cls, 'accept', %i[accept accept_nonblock sysaccept]) }
      [Socket, UNIXSocket].each { |cls| wrap(cls.singleton_class, 'socketpair', %i[pair socketpair]) }
      # recvmsg receives the fds another process passed with SCM_RIGHTS.
      wrap(BasicSocket, 'recvmsg', %i[recvmsg recvmsg_nonblock])
      # No fd: the stack that forks tells a server's worker fork from the app's own.
      wrap(Kernel, 'fork', %i[fork])
      wrap(Process.singleton_class, 'fork', %i[fork])
      hook_require
      wrap_native_calls
      hook_ffi
      hook_fork if ENV['PREFORK_CHECK_CLOSES'] == '1' && Process.respond_to?(:_fork)
    end

    # What a forked worker closes, and where (Unicorn's after_fork, Puma's on_worker_boot closing
    # what the app opened): IO's closing methods, and the C extensions' own, announced as D records.
    CLOSING_CALLS = [
      ['IO', %i[close close_read close_write reopen]],
      ['SQLite3::Database', %i[close]],
      ['PG::Connection', %i[close finish]],
      ['Mysql2::Client', %i[close]],
      ['Trilogy', %i[close]],
      ['Hiredis::Ext::Connection', %i[disconnect]],
    ].freeze

    def self.announce_closes
      CLOSING_CALLS.each do |name, methods|
        target = loaded_constant(name)
        wrap(target, 'close', methods, 'D') if target
      rescue StandardError
        nil
      end
    end

    # Process._fork (Ruby 3.1+) is what every fork goes through; the child announces its closes.
    def self.hook_fork
      hook(Process.singleton_class, %i[_fork]) do |_args, run|
        pid = run.call
        announce_closes if pid.zero?
        pid
      end
    end

    def self.start_record
      cwd = begin
        Dir.pwd
      rescue SystemCallError
        ''
      end
      write([TOKEN, 'S'.b, text(cwd), text(RbConfig::CONFIG['rubylibdir']), text(RbConfig.ruby), 'ruby'.b])
    rescue StandardError
      nil
    end
  end

  PreforkCheckBootstrap.install
end
rescue StandardError, ScriptError
  nil
end
