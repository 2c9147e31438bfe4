Gem::Specification.new do |spec|
  spec.name = 'prefork_check'
  spec.version = '0.1.0'
  spec.summary = 'The prefork-check fork check in RSpec and Minitest'
  spec.description = 'Fails a test when a pre-fork server (Unicorn, Puma) still holds files or sockets at the ' \
                     'moment it forks workers, naming each fd, the line that made it and the fix.'
  spec.authors = ['prefork-check']
  spec.license = 'MIT'
  spec.files = Dir['lib/**/*.rb']
  spec.require_paths = ['lib']
  spec.required_ruby_version = '>= 2.7'
end
